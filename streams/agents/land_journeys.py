"""``land_journeys``: the micro-batch sink from the pipeline's topics to the Parquet lake.

Progress lives in the lake's manifests, not in Kafka: on assignment the sink seeks each
partition to the offset after the last one landed, so records are landed exactly once even
when the offsets committed to Kafka lag behind.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from sinks.lake import Lake
from sinks.tables import TABLES
from streams import topics
from streams.kafka_clients import make_consumer
from streams.settings import Settings

log = logging.getLogger(__name__)

TOPIC_TABLES = {
    topics.TOUCHES_VALID: "touches",
    topics.JOURNEY_TOUCHES: "journey_touches",
    topics.TOUCHES_DLQ: "dead_letters",
    topics.IDENTITY_MERGES: "identity_merges",
    topics.SLA_BREACHES: "sla_breaches",
    topics.TOUCHES_LATE: "late_touches",
}


class _SeekToLanded(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: LandJourneys) -> None:
        self.sink = sink

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.sink.flush()

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            landed = self.sink.lake.landed(TOPIC_TABLES[tp.topic], tp.topic, tp.partition)
            self.sink.consumer.seek(tp, landed + 1)


class LandJourneys:
    """Buffers records per topic-partition and lands them every ``max_rows`` or ``max_seconds``."""

    name = "land-journeys"

    def __init__(self, bootstrap: str, settings: Settings, lake: Lake, *, max_rows: int = 20_000,
                 max_seconds: float = 1.0, on_landed: Callable[[set[str]], None] | None = None) -> None:
        self.bootstrap = bootstrap
        self.settings = settings
        self.lake = lake
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.on_landed = on_landed
        self.buffer: dict[TopicPartition, list[tuple[int, dict[str, object]]]] = {}
        self.buffered = 0
        self.oldest = 0.0
        self.landed_rows = 0
        self.ready = threading.Event()

    def flush(self) -> None:
        """Land everything buffered."""
        tables = set()
        for tp, records in self.buffer.items():
            if records:
                table = TABLES[TOPIC_TABLES[tp.topic]]
                self.landed_rows += self.lake.write(table, tp.topic, tp.partition, records)
                tables.add(table.name)
        self.buffer, self.buffered = {}, 0
        if tables and self.on_landed:
            self.on_landed(tables)

    def run(self, stop: threading.Event) -> None:
        """Poll and land until ``stop``; lands what is buffered before returning."""
        self.consumer = make_consumer(self.bootstrap, group_id="touchline-land-journeys", settings=self.settings,
                                      max_partition_fetch_bytes=4 * 1024 * 1024)
        self.consumer.subscribe(list(TOPIC_TABLES), listener=_SeekToLanded(self))
        try:
            while not stop.is_set():
                batch = self.consumer.poll(timeout_ms=200, max_records=5000)
                if self.consumer.assignment():
                    self.ready.set()
                for tp, records in batch.items():
                    if not self.buffered:
                        self.oldest = time.monotonic()
                    self.buffer.setdefault(tp, []).extend((r.offset, json.loads(r.value)) for r in records)
                    self.buffered += len(records)
                if self.buffered and (self.buffered >= self.max_rows
                                      or time.monotonic() - self.oldest >= self.max_seconds):
                    self.flush()
            self.flush()
        finally:
            self.consumer.close()
