"""Map what trackers and CRMs say about a touch's origin onto the channel taxonomy, by the channel rules.

The rules are data (:mod:`schemas.channel_rules`): the shipped ``schemas/channel_rules.csv``, or a
team's own file (``TOUCHLINE_CHANNEL_RULES``). A process reads its rules once at start and makes
them the active ones (:func:`use_channel_rules`), as it reads its settings; the converters and the
``touch/1`` validation (which channels a touch may carry) then follow them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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
