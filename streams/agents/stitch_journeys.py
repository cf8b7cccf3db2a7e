"""``stitch_journeys`` and ``watch_lead_sla``: account-keyed touches in, journey rows out.

State per partition of ``touches-by-account-v1``: each account's :class:`Journey` (settled
cursor and lateness window), the touch keys seen, and the open marketing leads with their
SLA deadlines. Rows are re-emitted when a late touch is placed before them; the sink keeps
the latest version of each row. Breaches are judged on event time (the partition's
watermark), so a replay of history flags the same leads as the live run did.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams import topics
from streams.processor import Emit
from streams.records import dumps
from transforms.settings import JourneySettings
from transforms.stitching import Journey, place
from transforms.types import Touch


@dataclass
class PartitionState:
    """Everything one partition remembers."""

    journeys: dict[str, Journey] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    watermark: datetime | None = None
    deadlines: list[tuple[datetime, str, str]] = field(default_factory=list)  # (due, account, lead)
    scheduled: set[str] = field(default_factory=set)  # leads with a deadline


class StitchJourneys:
    """Stage: place each touch on its account's journey, watch the lead SLA."""

    name = "stitch-journeys"
    source = topics.TOUCHES_BY_ACCOUNT

    def __init__(self, settings: JourneySettings) -> None:
        self.settings = settings
        self.partitions: dict[int, PartitionState] = {}

    def assign(self, partition: int) -> None:
        self.partitions[partition] = PartitionState()

    def revoke(self, partition: int) -> None:
        self.partitions.pop(partition, None)

    def apply(self, partition: int, record: Any, emit: Emit | None) -> None:
        state = self.partitions[partition]
        message = json.loads(record.value())
        account_id = message["account_id"]
        touch = Touch.from_wire(message["touch"])
        if touch.key in state.seen:
            return  # a repeat from an upstream replay
        state.seen.add(touch.key)
        if state.watermark is None or touch.occurred_at > state.watermark:
            state.watermark = touch.occurred_at
            self._watch_lead_sla(state, emit)
        journey, rows, late = place(state.journeys.get(account_id), touch, account_id, self.settings)
        state.journeys[account_id] = journey
        head = journey.head
        if head.lead_at is not None and head.lead_event_id and head.lead_event_id not in state.scheduled:
            state.scheduled.add(head.lead_event_id)
            heapq.heappush(state.deadlines, (head.lead_at + self.settings.lead_sla, account_id,
                                             head.lead_event_id))
        if emit is None:
            return
        key = account_id.encode()
        for row in rows:
            emit(topics.JOURNEY_TOUCHES, key, dumps(row.to_row()))
            if row.is_transition:
                emit(topics.JOURNEY_TRANSITIONS, key, dumps(row.transition_row()))
        if late is not None:
            emit(topics.TOUCHES_LATE, key, dumps({"account_id": account_id, "touch": late.to_wire()}))

    def _watch_lead_sla(self, state: PartitionState, emit: Emit | None) -> None:
        """Flag leads whose SLA ran out (on event time) without a sales or SDR touch."""
        watermark = state.watermark
        while state.deadlines and watermark and state.deadlines[0][0] < watermark:
            due, account_id, lead_event_id = heapq.heappop(state.deadlines)
            journey = state.journeys[account_id]
            head = journey.head
            if head.lead_event_id != lead_event_id:
                continue  # answered in time
            if emit is not None:
                emit(topics.SLA_BREACHES, account_id.encode(), dumps({
                    "lead_event_id": lead_event_id,
                    "account_id": account_id,
                    "journey_id": journey.journey_id,
                    "lead_at": head.lead_at,
                    "due_at": due,
                    "detected_at": watermark,
                    "lead_sla_hours": self.settings.lead_sla_hours,
                }))
