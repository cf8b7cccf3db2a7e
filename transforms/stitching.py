"""Journey stitching: the continuous-engagement fold over an account's touches.

``step`` applies one touch to an account's :class:`Cursor` (stage, cycle, dormancy, lead
SLA). ``stitch`` is the batch runner (dedupe, resolve identity, sort, fold); ``place`` is
the streaming runner, which keeps the touches of the last ``allowed_lateness`` in a window
so that out-of-order arrivals are placed by event time: it re-folds from the insertion
point and re-emits the rows that follow (consumers upsert rows by ``(source, event_id)``).
For the same input, both runners end with the same rows.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from schemas.vocabulary import DISPOSITION_EVENTS, ENGAGED_EVENTS, IDENTITY_EVENTS, RESPONDING_TEAMS, EventType, Stage
from transforms.admission import AllCopies, Offer, dedupe
from transforms.event_clock import AccountClock
from transforms.identity import Merge, Resolver, resolve_all
from transforms.lead_sla import Breach, Lead, Watched, judge_all, leads, review
from transforms.settings import DEFAULT_JOURNEY, JourneySettings
from transforms.stages import TRANSITIONS, ends_cycle
from transforms.types import Cursor, JourneyTouch, LeadOrigin, OrderKey, Touch, journey_id_of

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

    # Lead SLA: a marketing lead waits for the first sales/SDR touch or disposition; a new cycle drops it.
    lead_event_id, lead_at, origin = (None, None, None) if new_cycle else \
        (cursor.lead_event_id, cursor.lead_at, cursor.lead_origin)
    response_hours = None
    responding = touch.team in RESPONDING_TEAMS or event in DISPOSITION_EVENTS
    if lead_at is not None and responding:
        response_hours = (at - lead_at).total_seconds() / 3600
        lead_event_id = lead_at = origin = None
    if is_lead and not responding:
        lead_event_id, lead_at = touch.event_id, at
        origin = LeadOrigin(touch.channel, touch.campaign_id, touch.team, touch.crm_contact_id)

    seq = cursor.seq + 1
    after = Cursor(stage, cycle, seq, at, has_lead or is_lead, ends_cycle(base, event, stage), lead_event_id, lead_at,
                   origin)
    row = JourneyTouch(touch, account_id, journey_id, cycle, seq, stage, before, new_cycle, is_lead,
                       event == _OPPORTUNITY_CREATED, event == _CLOSED_WON, reengaged, response_hours)
    return after, row


class Folded(NamedTuple):
    """One account's journey, folded."""

    cursor: Cursor  # after the last touch
    rows: list[JourneyTouch]
    leads: list[Lead]  # its marketing leads and their answers, for the lead SLA


def fold_journey(account_id: str, touches: Iterable[Touch], settings: JourneySettings = DEFAULT_JOURNEY) -> Folded:
    """Fold one account's touches, already deduplicated and in event-time order."""
    journey_id = journey_id_of(account_id)
    cursor, rows, steps = START, [], []
    for touch in touches:
        cursor, row = step(cursor, touch, account_id, journey_id, settings)
        rows.append(row)
        steps.append((touch, cursor))
    return Folded(cursor, rows, list(leads(START, steps)))


class Stitched(NamedTuple):
    """What the batch runner makes of a set of touches."""

    rows: list[JourneyTouch]  # by account, then event time
    unresolved: list[Touch]  # no identifier ties them to an account
    merges: list[Merge]
    cursors: dict[str, Cursor]  # each account's state after its last touch
    breaches: list[Breach]  # the lead SLA's, judged on the clock at the end of the touches


def stitch(touches: Iterable[Touch], settings: JourneySettings = DEFAULT_JOURNEY) -> Stitched:
    """Batch stitching: dedupe, resolve identity over all touches, sort, fold each account."""
    resolved, unresolved, merges = resolve_all(dedupe(touches))
    clock = AccountClock((touch.occurred_at, account_id) for account_id, touch in resolved).time
    resolved.sort(key=itemgetter(0))  # stable: each account's touches stay in event-time order
    rows: list[JourneyTouch] = []
    cursors = {}
    breaches: list[Breach] = []
    for account_id, pairs in groupby(resolved, key=itemgetter(0)):
        folded = fold_journey(account_id, (t for _, t in pairs), settings)
        cursors[account_id] = folded.cursor
        rows += folded.rows
        breaches += judge_all(folded.leads, account_id, clock, settings)
    return Stitched(rows, unresolved, merges, cursors, breaches)


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
          settings: JourneySettings = DEFAULT_JOURNEY, replaces: bool = False) -> Placement:
    """Place a touch on its account's journey by event time (the streaming runner).

    ``replaces``: the touch is a better copy of one placed before (:mod:`transforms.admission`), which it
    takes out of the window; if that copy has settled, the touch is left for the batch re-stitch.
    """
    if journey is None:
        journey = Journey.new(account_id)
    if touch.event_type in IDENTITY_EVENTS:
        return Placement(journey, [], None)
    order = touch.order
    if journey.settled_order is not None and order <= journey.settled_order:
        return Placement(journey, [], touch)
    window = journey.window
    start = len(window)
    if replaces:
        start = next((i for i, (t, _) in enumerate(window) if t.key == touch.key), -1)
        if start < 0:
            return Placement(journey, [], touch)
        window = window[:start] + window[start + 1:]
    elif window and order <= window[-1][0].order and any(t.key == touch.key for t, _ in window):
        return Placement(journey, [], None)  # a redelivery
    at = bisect_right([t.order for t, _ in window], order) if window and order <= window[-1][0].order else len(window)
    start = min(start, at)
    cursor = window[start - 1][1] if start else journey.settled
    following = [t for t, _ in window[start:]]
    following.insert(at - start, touch)
    placed, rows = [], []
    for t in following:
        cursor, row = step(cursor, t, account_id, journey.journey_id, settings)
        placed.append((t, cursor))
        rows.append(row)
    window = window[:start] + tuple(placed)

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
    breaches: dict[str, dict[str, Any]]  # latest sla_breaches record per lead, retractions applied


#: Each account's journey and its leads under the SLA watch (the stage keeps it in its store).
Journeys = MutableMapping[str, tuple[Journey, tuple[Watched, ...]]]


class LeadWatch:
    """The streaming lead SLA over one partition's accounts: the accounts' clock, the deadlines
    waiting for it, and what was emitted for each account's live leads (see :func:`lead_sla.review`)."""

    def __init__(self, settings: JourneySettings, clock: AccountClock | None = None,
                 deadlines: Iterable[tuple[datetime, str, str]] = ()) -> None:
        self.settings = settings
        self.clock = clock or AccountClock()
        self.deadlines = list(deadlines)  # a heap of (due, account, lead event id)
        heapq.heapify(self.deadlines)

    def advance(self, journeys: Journeys, account_id: str, at: datetime) -> list[dict[str, Any]]:
        """An account reached event time ``at``: judge again the accounts whose deadlines the clock has now
        passed; their sla-breaches-v1 records."""
        self.clock.add(account_id, at)
        now, due = self.clock.time, []
        while self.deadlines and now is not None and self.deadlines[0][0] < now:
            due.append(heapq.heappop(self.deadlines)[1])
        records: list[dict[str, Any]] = []
        for due_account in dict.fromkeys(due):
            records += self.judge(journeys, *journeys[due_account])
        return records

    def judge(self, journeys: Journeys, journey: Journey, watched: tuple[Watched, ...],
              rows: Iterable[JourneyTouch] | None = None) -> list[dict[str, Any]]:
        """Judge an account's leads after a touch was placed on its journey (``rows``: the rows the placement
        re-emitted) or the clock moved; keep the journey and its watch in ``journeys``; the records that
        changed."""
        if rows is not None and not watched and not any(row.is_lead_touch for row in rows):
            journeys[journey.account_id] = (journey, watched)
            return []  # no lead before, and none among the rows that changed: nothing to judge
        found = review(journey.account_id, journey.journey_id, journey.settled, journey.window, watched,
                       self.clock.time, self.settings)
        for due, lead_event_id in found.deadlines:
            heapq.heappush(self.deadlines, (due, journey.account_id, lead_event_id))
        journeys[journey.account_id] = (journey, found.watched)
        return found.records


def stream(touches: Iterable[Touch], settings: JourneySettings = DEFAULT_JOURNEY) -> Streamed:
    """Feed touches one by one in arrival order, as the streaming pipeline does (one partition)."""
    resolver = Resolver(settings)
    journeys: Journeys = {}
    watch = LeadWatch(settings)
    rows: dict[tuple[str, str], JourneyTouch] = {}
    breaches: dict[str, dict[str, Any]] = {}
    late: list[Touch] = []
    given_up: list[Touch] = []
    merges: list[Merge] = []
    admitted = AllCopies(by_content=False)  # the resolve stage's memory of copies
    placed_copies = AllCopies(by_content=False)  # the stitch stage's

    def land(records: list[dict[str, Any]]) -> None:
        for record in records:
            if record.get("retracted"):
                breaches.pop(record["lead_event_id"], None)
            else:
                breaches[record["lead_event_id"]] = record

    for touch in touches:
        if admitted.offer(touch) is Offer.SEEN:
            continue
        resolution = resolver.add(touch)
        merges += resolution.merges
        given_up += resolution.unresolved
        for account_id, resolved in resolution.resolved:
            offer = placed_copies.offer(resolved)
            if resolved.event_type in IDENTITY_EVENTS or offer is Offer.SEEN:
                continue
            land(watch.advance(journeys, account_id, resolved.occurred_at))
            before, watched = journeys.get(account_id) or (None, ())
            journey, placed, too_late = place(before, resolved, account_id, settings, offer is Offer.BETTER)
            land(watch.judge(journeys, journey, watched, placed))
            rows.update((row.touch.key, row) for row in placed)
            if too_late is not None:
                late.append(too_late)
    return Streamed(rows, late, given_up + resolver.waiting(), merges, breaches)
