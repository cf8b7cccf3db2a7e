"""Map what trackers and CRMs say about a touch's origin onto the channel taxonomy, by the channel rules.

The rules are data (:mod:`schemas.channel_rules`): the shipped ``schemas/channel_rules.csv``, or a
team's own file (``TOUCHLINE_CHANNEL_RULES``). A process reads its rules once at start and makes
them the active ones (:func:`use_channel_rules`), as it reads its settings; the converters and the
``touch/1`` validation (which channels a touch may carry) then follow them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.channel_rules import ChannelRules, Match, Origin

DEFAULT_CHANNEL_RULES = ChannelRules.load()
_active = [DEFAULT_CHANNEL_RULES]


def active_channel_rules() -> ChannelRules:
    """The rules this process classifies and validates channels by."""
    return _active[0]


def use_channel_rules(rules: ChannelRules | str | Path | None) -> ChannelRules:
    """Make ``rules`` (or the rules file at that path; ``None``: the defaults) the active ones; return the
    rules they replace (so a test can put them back)."""
    previous = _active[0]
    if not isinstance(rules, ChannelRules):
        rules = ChannelRules.load(rules) if rules else DEFAULT_CHANNEL_RULES
    _active[0] = rules
    return previous


def declared_channels() -> frozenset[str]:
    """The channels the active rules declare: the values a touch's ``channel`` may take."""
    return _active[0].channels


def match_web(utm: Mapping[str, str], referrer: str | None = None, landing_page: str | None = None,
              rules: ChannelRules | None = None) -> Match | None:
    """The rule a web touch meets (its UTM parameters, referrer and landing page)."""
    return (rules or _active[0]).match(Origin.web(utm, referrer, landing_page))


CHANNEL_FROM = "touchline_channel_from"
"""The ``properties`` key a touch keeps the rule inputs in when the door classified it: ``utm``, ``referrer``,
``landing_page`` (the ones present) and a ``subchannel`` the caller gave. A touch without it had its channel
given, or none classified; a replay with channel rules re-buckets only the touches that carry it."""


def classify_web(utm: Mapping[str, str], referrer: str | None = None, landing_page: str | None = None,
                 subchannel: Any = None, rules: ChannelRules | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """A web touch's channel and sub-channel by the rules (a given ``subchannel`` is kept), and the inputs
    to keep in :data:`CHANNEL_FROM` so that :func:`reclassify` sees exactly what the door saw."""
    inputs = {key: value for key, value in (("utm", dict(utm)), ("referrer", referrer),
                                            ("landing_page", landing_page), ("subchannel", subchannel)) if value}
    return (*reclassify(inputs, rules), inputs)


def reclassify(inputs: Mapping[str, Any], rules: ChannelRules | None = None) -> tuple[str | None, Any]:
    """The channel and sub-channel that the inputs a touch kept in :data:`CHANNEL_FROM` meet under ``rules``."""
    utm = inputs.get("utm")
    utm = {str(key): str(value) for key, value in utm.items()} if isinstance(utm, Mapping) else {}
    page = [value if isinstance(value := inputs.get(key), str) else None for key in ("referrer", "landing_page")]
    matched = match_web(utm, page[0], page[1], rules)
    given = inputs.get("subchannel")
    return (matched.channel, given or matched.subchannel) if matched else (None, given)


def match_crm(value: str | None, column: str = "lead_source", rules: ChannelRules | None = None) -> Match | None:
    """The rule a CRM lead source (or, with ``column="campaign_type"``, a campaign type) meets."""
    if not value or not value.strip():
        return None
    origin = Origin.crm(value) if column == "lead_source" else Origin.crm(campaign_type=value)
    return (rules or _active[0]).match(origin)


def channel_from_utm(utm: Mapping[str, str], referrer: str | None = None) -> str | None:
    """Classify a web touch by its UTM parameters, falling back to the referrer."""
    found = match_web(utm, referrer)
    return found.channel if found else None


def channel_from_crm(value: str | None, column: str = "lead_source") -> str | None:
    """Classify a CRM lead source or campaign type; ``None`` when no rule knows it."""
    found = match_crm(value, column)
    return found.channel if found else None
