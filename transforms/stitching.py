"""Journey stitching: the continuous-engagement fold over an account's touches.

``step`` applies one touch to an account's :class:`Cursor` (stage, cycle, dormancy, lead
SLA). ``stitch`` is the batch runner (dedupe, resolve identity, sort, fold); ``place`` is
the streaming runner, which keeps the touches of the last ``allowed_lateness`` in a window
so that out-of-order arrivals are placed by event time: it re-folds from the insertion
point and re-emits the rows that follow (consumers upsert rows by ``(source, event_id)``).
For the same input, both runners end with the same rows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from schemas.vocabulary import ENGAGED_EVENTS, IDENTITY_EVENTS, RESPONDING_TEAMS, EventType, Stage
from transforms.identity import Merge, Resolver, resolve_all
from transforms.settings import DEFAULT_JOURNEY, JourneySettings
from transforms.stages import CYCLE_ENDING, TRANSITIONS
from transforms.types import Cursor, JourneyTouch, OrderKey, Touch, journey_id_of

FIND, CLOSE, GROW = Stage.FIND, Stage.CLOSE, Stage.GROW
_OPPORTUNITY_CREATED, _CLOSED_WON = EventType.OPPORTUNITY_CREATED, EventType.CLOSED_WON
START = Cursor()


def step(cursor: Cursor, touch: Touch, account_id: str, journey_id: str,
         settings: JourneySettings = DEFAULT_JOURNEY) -> tuple[Cursor, JourneyTouch]:
    """Apply one touch (in event-time order) to an account's journey."""
    at, event, before = touch.occurred_at, touch.event_type, cursor.stage
    last_at = cursor.last_at
    reengaged = last_at is not None and at - last_at >= settings.dormancy
    if before is None or (reengaged and before is not GROW):
        new_cycle, base = True, FIND  # first touch, or a prospect back from dormancy
    else:
        new_cycle, base = cursor.cycle_ended, before
    stage = TRANSITIONS.get((base, event), base)
    cycle = cursor.cycle + 1 if new_cycle else cursor.cycle
    has_lead = cursor.has_lead and not new_cycle
    is_lead = not has_lead and event in ENGAGED_EVENTS and base is not CLOSE and base is not GROW

    # Lead SLA: a marketing lead waits for the first sales/SDR touch; a new cycle drops it.
    lead_event_id, lead_at = (None, None) if new_cycle else (cursor.lead_event_id, cursor.lead_at)
    response_hours = None
    responding = touch.team in RESPONDING_TEAMS
    if lead_at is not None and responding:
        response_hours = (at - lead_at).total_seconds() / 3600
        lead_event_id = lead_at = None
    if is_lead and not responding:
        lead_event_id, lead_at = touch.event_id, at

    seq = cursor.seq + 1
    after = Cursor(stage, cycle, seq, at, has_lead or is_lead,
                   event in CYCLE_ENDING and stage is not GROW, lead_event_id, lead_at)
    row = JourneyTouch(touch, account_id, journey_id, cycle, seq, stage, before, new_cycle, is_lead,
                       event == _OPPORTUNITY_CREATED, event == _CLOSED_WON, reengaged, response_hours)
    return after, row


def fold_journey(account_id: str, touches: Iterable[Touch],
                 settings: JourneySettings = DEFAULT_JOURNEY) -> tuple[Cursor, list[JourneyTouch]]:
    """Fold one account's touches, already deduplicated and in event-time order."""
    journey_id = journey_id_of(account_id)
    cursor, rows = START, []
    for touch in touches:
        cursor, row = step(cursor, touch, account_id, journey_id, settings)
        rows.append(row)
    return cursor, rows


def dedupe(touches: Iterable[Touch]) -> list[Touch]:
    """The first touch of each ``(source, event_id)``."""
    first: dict[tuple[str, str], Touch] = {}
    for touch in touches:
        first.setdefault(touch.key, touch)
    return list(first.values())


class Stitched(NamedTuple):
    """What the batch runner makes of a set of touches."""

    rows: list[JourneyTouch]  # by account, then event time
    unresolved: list[Touch]  # no identifier ties them to an account
    merges: list[Merge]
    cursors: dict[str, Cursor]  # each account's state after its last touch


def stitch(touches: Iterable[Touch], settings: JourneySettings = DEFAULT_JOURNEY) -> Stitched:
    """Batch stitching: dedupe, resolve identity over all touches, sort, fold each account."""
    resolved, unresolved, merges = resolve_all(dedupe(touches))
    resolved.sort(key=itemgetter(0))  # stable: each account's touches stay in event-time order
    rows: list[JourneyTouch] = []
    cursors = {}
    for account_id, pairs in groupby(resolved, key=itemgetter(0)):
        cursors[account_id], account_rows = fold_journey(account_id, (t for _, t in pairs), settings)
        rows += account_rows
    return Stitched(rows, unresolved, merges, cursors)


# --- streaming: placing touches that arrive in any order ------------------------------------


@dataclass(frozen=True, slots=True)
class Journey:
    """An account's streaming state: a settled cursor plus a window of recent touches."""

    account_id: str
    journey_id: str
    settled: Cursor = START  # after every touch that left the window
    settled_order: OrderKey | None = None  # order key of the last settled touch
    window: tuple[tuple[Touch, Cursor], ...] = ()  # in event-time order, with the cursor after each

    @classmethod
    def new(cls, account_id: str) -> Journey:
        """An account with no touches yet."""
        return cls(account_id, journey_id_of(account_id))

    @property
    def head(self) -> Cursor:
        """The state after the newest touch."""
        return self.window[-1][1] if self.window else self.settled


class Placement(NamedTuple):
    """The result of placing one touch."""

    journey: Journey
    rows: list[JourneyTouch]  # new or changed rows, to upsert by (source, event_id)
    late: Touch | None  # older than the window: left for the batch re-stitch


def place(journey: Journey | None, touch: Touch, account_id: str,
          settings: JourneySettings = DEFAULT_JOURNEY) -> Placement:
    """Place a touch on its account's journey by event time (the streaming runner)."""
    if journey is None:
        journey = Journey.new(account_id)
    if touch.event_type in IDENTITY_EVENTS:
        return Placement(journey, [], None)
    order = touch.order
    if journey.settled_order is not None and order <= journey.settled_order:
        return Placement(journey, [], touch)
    window = journey.window
    if window and order <= window[-1][0].order:
        if any(t.key == touch.key for t, _ in window):
            return Placement(journey, [], None)  # a redelivery
        at = bisect_right([t.order for t, _ in window], order)
    else:
        at = len(window)
    cursor = window[at - 1][1] if at else journey.settled
    placed, rows = [], []
    for t in (touch, *(t for t, _ in window[at:])):
        cursor, row = step(cursor, t, account_id, journey.journey_id, settings)
        placed.append((t, cursor))
        rows.append(row)
    window = window[:at] + tuple(placed)

    # Touches older than the lateness bound settle: they can no longer be preceded.
    horizon = window[-1][0].occurred_at - settings.allowed_lateness
    settled, settled_order = journey.settled, journey.settled_order
    keep = 0
    while keep < len(window) - 1 and window[keep][0].occurred_at < horizon:
        keep += 1
    if keep:
        settled, settled_order = window[keep - 1][1], window[keep - 1][0].order
        window = window[keep:]
    return Placement(Journey(account_id, journey.journey_id, settled, settled_order, window), rows, None)


class Streamed(NamedTuple):
    """What the streaming runners end with, after every upsert."""

    rows: dict[tuple[str, str], JourneyTouch]  # latest row per (source, event_id)
    late: list[Touch]
    unresolved: list[Touch]  # given up, or still waiting for an identity
    merges: list[Merge]


def stream(touches: Iterable[Touch], settings: JourneySettings = DEFAULT_JOURNEY) -> Streamed:
    """Feed touches one by one in arrival order, as the streaming pipeline does."""
    resolver = Resolver(settings)
    journeys: dict[str, Journey] = {}
    rows: dict[tuple[str, str], JourneyTouch] = {}
    late: list[Touch] = []
    given_up: list[Touch] = []
    merges: list[Merge] = []
    seen: set[tuple[str, str]] = set()
    for touch in touches:
        if touch.key in seen:
            continue  # the validate stage's dedupe
        seen.add(touch.key)
        resolution = resolver.add(touch)
        merges += resolution.merges
        given_up += resolution.unresolved
        for account_id, resolved in resolution.resolved:
            journeys[account_id], placed, too_late = place(journeys.get(account_id), resolved, account_id, settings)
            rows.update((row.touch.key, row) for row in placed)
            if too_late is not None:
                late.append(too_late)
    return Streamed(rows, late, given_up + resolver.waiting(), merges)
