"""How the stages' state values are stored: as tuples of plain values, which pickle fast.

Pickling an aware ``datetime`` costs about 11 µs here and an enum member about 4 µs, against
under 1 µs for a tuple of strings and integers; a journey holds a dozen of them. So times are
stored as microseconds since 1970 and stages as their text, and the core's records are
rebuilt when a value is read back from disk (values in memory stay the core's own types).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from schemas.vocabulary import Stage
from streams.runtime import state
from transforms.identity import Component
from transforms.lead_sla import Breach, Watched
from transforms.stitching import Journey
from transforms.types import Cursor, LeadOrigin, Touch

_TIME = Touch._fields.index("occurred_at")


def micros(value: datetime | None) -> int | None:
    """An aware time (or None) as microseconds since 1970."""
    return None if value is None else state.micros(value)


def moment(value: int | None) -> datetime | None:
    """Microseconds since 1970 (or None) as an aware UTC time."""
    return None if value is None else state.moment(value)


def touch_state(touch: Touch) -> tuple[Any, ...]:
    """A touch as plain values."""
    fields = list(touch)
    fields[_TIME] = micros(touch.occurred_at)
    return tuple(fields)


def touch_from_state(state: tuple[Any, ...]) -> Touch:
    """The touch back from :func:`touch_state`."""
    fields = list(state)
    fields[_TIME] = moment(state[_TIME])
    return Touch(*fields)


def cursor_state(cursor: Cursor) -> tuple[Any, ...]:
    """A journey cursor as plain values."""
    stage, cycle, seq, last_at, has_lead, cycle_ended, lead_event_id, lead_at, origin = cursor
    return (None if stage is None else stage.value, cycle, seq, micros(last_at), has_lead, cycle_ended,
            lead_event_id, micros(lead_at), None if origin is None else tuple(origin))


def cursor_from_state(state: tuple[Any, ...]) -> Cursor:
    """The cursor back from :func:`cursor_state`."""
    stage, cycle, seq, last_at, has_lead, cycle_ended, lead_event_id, lead_at, *more = state
    origin = more[0] if more else None  # a store of an older release kept no lead origin
    return Cursor(None if stage is None else Stage(stage), cycle, seq, moment(last_at), has_lead, cycle_ended,
                  lead_event_id, moment(lead_at), None if origin is None else LeadOrigin(*origin))


def _order_state(order: tuple[datetime, int, str, str] | None) -> tuple[Any, ...] | None:
    return None if order is None else (micros(order[0]), *order[1:])


def _order_from_state(state: tuple[Any, ...] | None) -> tuple[datetime, int, str, str] | None:
    return None if state is None else (moment(state[0]), *state[1:])  # type: ignore[return-value]


class Codec(NamedTuple):
    """A pair of functions: value to plain values, and back."""

    encode: Any
    decode: Any


def _breach_state(breach: Breach | None) -> tuple[Any, ...] | None:
    if breach is None:
        return None
    return (*breach[:3], micros(breach.lead_at), micros(breach.due_at), breach.lead_sla_hours,
            micros(breach.answered_at), breach.answer_event_id, None if breach.origin is None else tuple(breach.origin))


def _breach_from_state(state: tuple[Any, ...] | None) -> Breach | None:
    if state is None:
        return None
    lead, account, journey, lead_at, due_at, hours, answered_at, answer, *more = state
    origin = more[0] if more else None  # a store of an older release kept no lead origin
    return Breach(lead, account, journey, moment(lead_at), moment(due_at), hours,  # type: ignore[arg-type]
                  moment(answered_at), answer, None if origin is None else LeadOrigin(*origin))


def _journey_state(value: tuple[Journey, tuple[Watched, ...]]) -> tuple[Any, ...]:
    journey, watched = value
    return (journey.account_id, journey.journey_id, cursor_state(journey.settled),
            _order_state(journey.settled_order),
            tuple((touch_state(touch), cursor_state(cursor)) for touch, cursor in journey.window),
            tuple((w.lead_event_id, micros(w.lead_at), _breach_state(w.emitted), w.scheduled) for w in watched))


def _journey_from_state(state: tuple[Any, ...]) -> tuple[Journey, tuple[Watched, ...]]:
    account_id, journey_id, settled, settled_order, window, watched = state
    journey = Journey(account_id, journey_id, cursor_from_state(settled), _order_from_state(settled_order),
                      tuple((touch_from_state(touch), cursor_from_state(cursor)) for touch, cursor in window))
    if not isinstance(watched, tuple):  # a store of an older release kept the lead last scheduled: none watched
        return journey, ()
    return journey, tuple(Watched(lead, moment(at), _breach_from_state(breach), scheduled)  # type: ignore[arg-type]
                          for lead, at, breach, scheduled in watched)


#: A journey with its leads under the SLA watch (``stitch-journeys``).
JOURNEY = Codec(_journey_state, _journey_from_state)
#: An identity component (``resolve-touches``).
COMPONENT = Codec(lambda c: (c.members, c.account_id, micros(c.account_seen_at)),
                  lambda s: Component(s[0], s[1], moment(s[2])))
#: The touches waiting for an identity (``resolve-touches``).
WAITING = Codec(lambda touches: tuple(map(touch_state, touches)), lambda state: tuple(map(touch_from_state, state)))
