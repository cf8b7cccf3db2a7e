"""``stitch_journeys`` and ``watch_lead_sla``: account-keyed touches in, journey rows out.

State per partition of ``touches-by-account-v1``, in the partition's store: each account's
:class:`Journey` (settled cursor and lateness window) with its leads under the SLA watch, the
arrival rank of each touch's copy placed (a better copy re-places it: :mod:`transforms.admission`, and
the replaced copy's row is withdrawn at its event date), the
leads' deadlines and the accounts' clock. Rows are
re-emitted when a late touch is placed before them; the lake keeps one row per key. The lead
SLA is :mod:`transforms.lead_sla`'s rule, the one the batch runners apply: judged on event time,
on the partition's :class:`~transforms.event_clock.AccountClock` (a time two accounts have
reached, so a device whose clock runs ahead cannot flag another account's lead), its rows
upserted when a lead's answer or the clock changes them, and retracted when a late touch shows
there was no breach.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.vocabulary import IDENTITY_EVENTS
from streams import topics
from streams.runtime import state_codecs as codecs
from streams.runtime.processor import Emit
from streams.runtime.records import Record, dumps, loads
from streams.runtime.state import DEDUPE_WINDOW, RecentKeys, StateStore, StoreTable
from transforms.admission import Offer, withdrawal
from transforms.event_clock import AccountClock
from transforms.settings import JourneySettings
from transforms.stitching import LeadWatch, place
from transforms.types import Touch


class PartitionState:
    """Everything one partition remembers, in its store."""

    def __init__(self, store: StateStore, settings: JourneySettings, dedupe_window: timedelta) -> None:
        self.store = store
        # account -> (Journey, its leads under the SLA watch)
        self.journeys: StoreTable = store.table("journeys", codecs.JOURNEY)
        self.seen = RecentKeys(store, "seen", dedupe_window)
        clock = AccountClock((codecs.moment(at), account) for at, account in store.value("sla-clock", []))
        self.watch = LeadWatch(settings, clock, ((codecs.moment(due), account, lead)  # type: ignore[misc]
                                                 for due, account, lead in store.value("deadlines", [])))

    def save(self) -> None:
        self.store.set_value("deadlines", [(codecs.micros(due), account, lead)
                                           for due, account, lead in self.watch.deadlines])
        self.store.set_value("sla-clock", [(codecs.micros(at), account) for at, account in self.watch.clock.newest])


class StitchJourneys:
    """Stage: place each touch on its account's journey, watch the lead SLA."""

    name = "stitch-journeys"
    source = topics.TOUCHES_BY_ACCOUNT

    def __init__(self, settings: JourneySettings, dedupe_window: timedelta = DEDUPE_WINDOW) -> None:
        self.settings = settings
        self.dedupe_window = dedupe_window
        self.partitions: dict[int, PartitionState] = {}

    def open(self, partition: int, store: StateStore) -> None:
        self.partitions[partition] = PartitionState(store, self.settings, self.dedupe_window)

    def close(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def save(self, partition: int) -> None:
        self.partitions[partition].save()

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        state = self.partitions[partition]
        message = loads(record.value)
        account_id = message["account_id"]
        touch = Touch.from_wire(message["touch"])
        if touch.event_type in IDENTITY_EVENTS:
            return  # identity calls make no journey touch
        offer = state.seen.offer(touch)
        if offer is Offer.SEEN:
            return  # a repeat from an upstream replay, or a copy no better than the one placed
        breaches = state.watch.advance(state.journeys, account_id, touch.occurred_at)
        journey, watched = state.journeys.get(account_id) or (None, ())
        journey, rows, late = place(journey, touch, account_id, self.settings, offer is Offer.BETTER)
        breaches += state.watch.judge(state.journeys, journey, watched, rows)
        for breach in breaches:
            emit(topics.SLA_BREACHES, breach["account_id"].encode(), dumps(breach))
        key = account_id.encode()
        if offer is Offer.BETTER and late is None and state.seen.replaced is not None:  # re-placed
            emit(topics.JOURNEY_TOUCHES, key, dumps(withdrawal(touch.key, state.seen.replaced)))
        for row in rows:
            emit(topics.JOURNEY_TOUCHES, key, dumps(row.to_row()))
            if row.is_milestone:
                emit(topics.JOURNEY_TRANSITIONS, key, dumps(row.transition_row()))
        if late is not None:
            emit(topics.TOUCHES_LATE, key, dumps({"account_id": account_id, "touch": late.to_wire()}))
