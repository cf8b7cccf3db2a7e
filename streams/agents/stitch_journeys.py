"""``stitch_journeys`` and ``watch_lead_sla``: account-keyed touches in, journey rows out.

State per partition of ``touches-by-account-v1``, in the partition's store: each account's
:class:`Journey` (settled cursor and lateness window) with the last lead given a deadline,
the touch keys of the lateness window, and the open marketing leads' SLA deadlines. Rows are
re-emitted when a late touch is placed before them; the lake keeps one row per key. Breaches
are judged on event time, so a replay of history flags the same leads as the live run did: on the
partition's :class:`~transforms.event_clock.AccountClock`, a time two accounts have reached, so a
device whose clock runs ahead cannot flag another account's lead.
"""

from __future__ import annotations

import heapq
import json
from datetime import datetime, timedelta
from typing import Any

from streams import state_codecs as codecs
from streams import topics
from streams.processor import Emit
from streams.records import dumps
from streams.state import DEDUPE_WINDOW, RecentKeys, StateStore, StoreTable
from transforms.event_clock import AccountClock
from transforms.settings import JourneySettings
from transforms.stitching import place
from transforms.types import Touch

Deadline = tuple[datetime, str, str]  # (due, account, lead event id)


class PartitionState:
    """Everything one partition remembers, in its store."""

    def __init__(self, store: StateStore, dedupe_window: timedelta) -> None:
        self.store = store
        # account -> (Journey, the lead last given a deadline)
        self.journeys: StoreTable = store.table("journeys", codecs.JOURNEY)
        self.seen = RecentKeys(store, "seen", dedupe_window)
        self.deadlines: list[Deadline] = [(codecs.moment(due), account, lead)  # type: ignore[misc]
                                          for due, account, lead in store.value("deadlines", [])]
        self.clock = AccountClock((codecs.moment(at), account) for at, account in store.value("sla-clock", []))

    def save(self) -> None:
        self.store.set_value("deadlines", [(codecs.micros(due), account, lead)
                                           for due, account, lead in self.deadlines])
        self.store.set_value("sla-clock", [(codecs.micros(at), account) for at, account in self.clock.newest])


class StitchJourneys:
    """Stage: place each touch on its account's journey, watch the lead SLA."""

    name = "stitch-journeys"
    source = topics.TOUCHES_BY_ACCOUNT

    def __init__(self, settings: JourneySettings, dedupe_window: timedelta = DEDUPE_WINDOW) -> None:
        self.settings = settings
        self.dedupe_window = dedupe_window
        self.partitions: dict[int, PartitionState] = {}

    def open(self, partition: int, store: StateStore) -> None:
        self.partitions[partition] = PartitionState(store, self.dedupe_window)

    def close(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def save(self, partition: int) -> None:
        self.partitions[partition].save()

    def apply(self, partition: int, record: Any, emit: Emit) -> None:
        state = self.partitions[partition]
        message = json.loads(record.value())
        account_id = message["account_id"]
        touch = Touch.from_wire(message["touch"])
        if not state.seen.add(touch.key, touch.occurred_at):
            return  # a repeat from an upstream replay
        clock = state.clock.time
        state.clock.add(account_id, touch.occurred_at)
        if state.clock.time != clock:
            self._watch_lead_sla(state, emit)
        journey, scheduled = state.journeys.get(account_id) or (None, None)
        journey, rows, late = place(journey, touch, account_id, self.settings)
        head = journey.head
        if head.lead_at is not None and head.lead_event_id and head.lead_event_id != scheduled:
            scheduled = head.lead_event_id
            heapq.heappush(state.deadlines, (head.lead_at + self.settings.lead_sla, account_id, scheduled))
        state.journeys[account_id] = (journey, scheduled)
        key = account_id.encode()
        for row in rows:
            emit(topics.JOURNEY_TOUCHES, key, dumps(row.to_row()))
            if row.is_transition:
                emit(topics.JOURNEY_TRANSITIONS, key, dumps(row.transition_row()))
        if late is not None:
            emit(topics.TOUCHES_LATE, key, dumps({"account_id": account_id, "touch": late.to_wire()}))

    def _watch_lead_sla(self, state: PartitionState, emit: Emit) -> None:
        """Flag leads whose SLA ran out (on the accounts' clock) without a sales or SDR touch."""
        now = state.clock.time
        while state.deadlines and now and state.deadlines[0][0] < now:
            due, account_id, lead_event_id = heapq.heappop(state.deadlines)
            journey, _ = state.journeys[account_id]
            head = journey.head
            if head.lead_event_id != lead_event_id:
                continue  # answered in time
            emit(topics.SLA_BREACHES, account_id.encode(), dumps({
                "lead_event_id": lead_event_id,
                "account_id": account_id,
                "journey_id": journey.journey_id,
                "lead_at": head.lead_at,
                "due_at": due,
                "detected_at": now,
                "lead_sla_hours": self.settings.lead_sla_hours,
            }))
