"""A consume-process-produce loop with exactly-once results over at-least-once delivery.

Each stage keeps its state in memory, per input partition, and that state is always the
fold of the partition's records before the committed offset:

* after each poll the outputs are flushed to the broker, *then* the offsets are committed;
* when a partition is assigned (start, restart, rebalance) the stage's state for it is
  rebuilt by replaying the partition from its beginning up to the committed offset, with
  outputs suppressed.

So the state is never ahead of the outputs (the trap of a changelog written before the
outputs were sent cannot happen), a crash replays at most the records after the last
commit, and the outputs they repeat carry deterministic keys that the sinks absorb.
The price is recovery time proportional to the partition's length; snapshots would bound it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from streams.kafka_clients import make_consumer, make_producer
from streams.settings import Settings

log = logging.getLogger(__name__)

#: emit(topic, key, value): send one output record; None while rebuilding.
Emit = Callable[[str, bytes | None, bytes], None]


class Stage(Protocol):
    """What a stage implements; the loop does the Kafka part."""

    name: str
    source: str

    def assign(self, partition: int) -> None:
        """Start empty state for a partition (it is about to be rebuilt)."""

    def revoke(self, partition: int) -> None:
        """Drop the state of a partition that moved elsewhere."""

    def apply(self, partition: int, record: Any, emit: Emit | None) -> None:
        """Process one record; ``emit`` is None while the state is rebuilt."""


class _Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes assignment changes; kafka-python calls this on its IO thread, where no blocking
    consumer call is allowed, so the runner's own thread acts on them after ``poll``."""

    def __init__(self) -> None:
        self.assigned: set[TopicPartition] = set()
        self.revoked: set[TopicPartition] = set()

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.revoked.update(revoked)
        self.assigned.difference_update(revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned.update(assigned)


class StageRunner:
    """Runs one stage in a consumer group until ``stop`` is set."""

    def __init__(self, stage: Stage, bootstrap: str, settings: Settings, *, group: str | None = None,
                 max_records: int = 2000) -> None:
        self.stage = stage
        self.bootstrap = bootstrap
        self.settings = settings
        self.group = group or f"touchline-{stage.name}"
        self.max_records = max_records
        self.processed = 0
        self.ready = threading.Event()  # set once partitions are assigned and rebuilt

    def rebuild(self, tp: TopicPartition) -> None:
        """Replay a partition from offset 0 up to its committed offset, outputs suppressed."""
        self.stage.assign(tp.partition)
        committed = self._consumer.committed(tp) or 0
        started, replayed = time.monotonic(), 0
        if committed:
            reader = make_consumer(self.bootstrap, group_id=None, settings=self.settings,
                                   max_partition_fetch_bytes=4 * 1024 * 1024)
            reader.assign([tp])
            reader.seek(tp, 0)
            position = 0
            while position < committed:
                for records in reader.poll(timeout_ms=500, max_records=5000).values():
                    for record in records:
                        if record.offset < committed:
                            self.stage.apply(tp.partition, record, None)
                            replayed += 1
                        position = record.offset + 1
            reader.close()
        log.info("%s: rebuilt partition %s from %s records in %.1fs", self.stage.name, tp.partition,
                 replayed, time.monotonic() - started)

    def run(self, stop: threading.Event) -> None:
        """Poll, process, flush, commit; until ``stop``."""
        self._consumer: KafkaConsumer = make_consumer(self.bootstrap, group_id=self.group,
                                                      settings=self.settings,
                                                      max_partition_fetch_bytes=4 * 1024 * 1024)
        producer = make_producer(self.bootstrap, self.settings)
        send = producer.send

        def emit(topic: str, key: bytes | None, value: bytes) -> None:
            send(topic, key=key, value=value)

        changes = _Assignments()
        self._consumer.subscribe([self.stage.source], listener=changes)
        try:
            while not stop.is_set():
                batch = self._consumer.poll(timeout_ms=200, max_records=self.max_records)
                while changes.revoked:
                    self.stage.revoke(changes.revoked.pop().partition)
                while changes.assigned:  # before any of their records is applied
                    self.rebuild(changes.assigned.pop())
                if self._consumer.assignment():
                    self.ready.set()
                offsets = {}
                for tp, records in batch.items():
                    for record in records:
                        self.stage.apply(tp.partition, record, emit)
                    offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
                    self.processed += len(records)
                if offsets:
                    producer.flush()  # outputs first ...
                    self._consumer.commit(offsets)  # ... then the offsets
        finally:
            producer.close()
            self._consumer.close()
