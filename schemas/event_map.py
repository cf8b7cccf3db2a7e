"""Event names are data: which tracker event name becomes which ``touch/1`` event type.

The shipped defaults (``schemas/event-map.toml``) cover Segment's B2B SaaS, Email, Live Chat and
E-commerce specs; Touchline's own event type names map to themselves. A user's file of the same shape adds to them or
overrides them. Names match case-insensitively. A name no rule covers becomes
``custom:<name>``: a one-way touch that keeps its name (:func:`custom_event_type`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.vocabulary import CUSTOM_PREFIX, EventType, Team

DEFAULT_FILE = Path(__file__).with_name("event-map.toml")

#: touch/1 fields a rule may fill from a call's properties.
MAPPABLE_FIELDS = frozenset({"amount", "currency", "opportunity_id", "campaign_id", "crm_contact_id", "channel",
                             "email", "role", "content_id", "disposition_reason", "disposition_note"})


@dataclass(frozen=True, slots=True)
class EventRule:
    """What one event name becomes."""

    event_type: str
    team: str | None = None
    #: touch/1 field → the property names that feed it, first present wins
    properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


#: Touchline's own event types a tracker may name directly (identity calls have call types of their own).
_OWN_NAMES = frozenset(str(e) for e in EventType) - {EventType.IDENTIFY, EventType.GROUP}


class EventMapError(ValueError):
    """A mapping file that cannot be used, naming the entry and the problem."""


def custom_event_type(name: str) -> str:
    """The event type of a name no rule covers: the name kept, marked as not Touchline's."""
    return CUSTOM_PREFIX + name.strip()


def _rule(name: str, entry: Any, origin: str) -> EventRule:
    where = f"{origin}: events.{name!r}"
    if isinstance(entry, str):
        entry = {"event_type": entry}
    if not isinstance(entry, Mapping):
        raise EventMapError(f"{where}: must be an event type or a table, got {type(entry).__name__}")
    unknown = set(entry) - {"event_type", "team", "properties"}
    if unknown:
        raise EventMapError(f"{where}: unknown keys {sorted(unknown)}")
    event_type = entry.get("event_type")
    if event_type not in EventType.__members__.values():
        raise EventMapError(f"{where}: event_type {event_type!r} is not a touch/1 event type")
    team = entry.get("team")
    if team is not None and team not in Team.__members__.values():
        raise EventMapError(f"{where}: team {team!r} is not one of {', '.join(Team)}")
    properties = entry.get("properties", {})
    if not isinstance(properties, Mapping):
        raise EventMapError(f"{where}: properties must be a table of touch field = property name(s)")
    feeds = {}
    for target, names in properties.items():
        if target not in MAPPABLE_FIELDS:
            raise EventMapError(f"{where}: properties.{target} is not a field a property can feed "
                                f"({', '.join(sorted(MAPPABLE_FIELDS))})")
        feeds[target] = (names,) if isinstance(names, str) else tuple(str(n) for n in names)
    return EventRule(str(event_type), team, feeds)


def _rules(path: Path) -> dict[str, EventRule]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EventMapError(f"{path}: {exc}") from exc
    events = document.get("events", {})
    if not isinstance(events, Mapping):
        raise EventMapError(f"{path}: [events] must be a table")
    return {name.strip().casefold(): _rule(name, entry, str(path)) for name, entry in events.items()}


class EventMap:
    """Event name → :class:`EventRule`, case-insensitive."""

    def __init__(self, rules: Mapping[str, EventRule]) -> None:
        self.rules = {name.strip().casefold(): rule for name, rule in rules.items()}

    @classmethod
    def load(cls, path: str | Path | None = None) -> EventMap:
        """The shipped defaults, with the rules of ``path`` (if given) added over them."""
        rules = _rules(DEFAULT_FILE)
        if path:
            rules.update(_rules(Path(path)))
        return cls(rules)

    @classmethod
    def of(cls, names: Mapping[str, str]) -> EventMap:
        """The defaults with plain ``name → event type`` entries over them."""
        loaded = cls.load()
        return cls({**loaded.rules, **{name: _rule(name, kind, "mapping") for name, kind in names.items()}})

    def rule(self, name: str) -> EventRule | None:
        """The rule for an event name, if any (a touch/1 event type's own name is its own rule)."""
        key = name.strip().casefold()
        found = self.rules.get(key)
        if found is None and key in _OWN_NAMES:
            return EventRule(key)
        return found

    def event_type(self, name: str) -> str:
        """The event type a name becomes: its rule's, or ``custom:<name>``."""
        rule = self.rule(name)
        return rule.event_type if rule else custom_event_type(name)

    def remap(self, event_type: str) -> str:
        """A ``custom:<name>`` event type as this map would name it now (a replay's re-mapping)."""
        if not event_type.startswith(CUSTOM_PREFIX):
            return event_type
        return self.event_type(event_type[len(CUSTOM_PREFIX):])


DEFAULT_EVENT_MAP = EventMap.load()
