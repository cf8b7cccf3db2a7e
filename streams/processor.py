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

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.fast_clients import fast_consumer, fast_producer
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

    def apply(self, partition: int, message: Any, emit: Emit | None) -> None:
        """Process one message; ``emit`` is None while the state is rebuilt."""


class StageRunner:
    """Runs one stage in a consumer group until ``stop`` is set."""

    def __init__(self, stage: Stage, bootstrap: str, settings: Settings, *, group: str | None = None,
                 max_records: int = 5000) -> None:
        self.stage = stage
        self.bootstrap = bootstrap
        self.settings = settings
        self.group = group or f"touchline-{stage.name}"
        self.max_records = max_records
        self.processed = 0
        self._assigned: list[TopicPartition] = []
        self._revoked: list[TopicPartition] = []

    def rebuild(self, consumer: Consumer, tp: TopicPartition) -> None:
        """Replay a partition from offset 0 up to its committed offset, outputs suppressed."""
        self.stage.assign(tp.partition)
        (committed_tp,) = consumer.committed([TopicPartition(tp.topic, tp.partition)], timeout=30)
        committed = max(committed_tp.offset, 0)
        started, replayed = time.monotonic(), 0
        if committed:
            reader = fast_consumer(self.bootstrap, self.settings, None)
            reader.assign([TopicPartition(tp.topic, tp.partition, 0)])
            position = 0
            while position < committed:
                for message in reader.consume(5000, 1.0):
                    if message.error():
                        continue
                    if message.offset() < committed:
                        self.stage.apply(tp.partition, message, None)
                        replayed += 1
                    position = message.offset() + 1
            reader.close()
        log.log(logging.INFO if replayed else logging.DEBUG, "%s: rebuilt partition %s from %s records in %.1fs",
                self.stage.name, tp.partition, replayed, time.monotonic() - started)

    def run(self, stop: threading.Event) -> None:
        """Consume, process, flush, commit; until ``stop``."""
        consumer = fast_consumer(self.bootstrap, self.settings, self.group)
        producer = fast_producer(self.bootstrap, self.settings)
        produce = producer.produce

        def emit(topic: str, key: bytes | None, value: bytes) -> None:
            while True:
                try:
                    produce(topic, value=value, key=key)
                    return
                except BufferError:  # the local queue is full: let it drain
                    producer.poll(0.05)

        # Assignment callbacks run inside consume(); the work happens after it returns.
        consumer.subscribe([self.stage.source], on_assign=lambda _, tps: self._assigned.extend(tps),
                           on_revoke=lambda _, tps: self._revoked.extend(tps))
        try:
            while not stop.is_set():
                messages = consumer.consume(self.max_records, 0.2)
                while self._revoked:
                    self.stage.revoke(self._revoked.pop().partition)
                while self._assigned:  # before any of their records is applied
                    self.rebuild(consumer, self._assigned.pop())
                offsets: dict[tuple[str, int], int] = {}
                for message in messages:
                    if message.error():
                        log.warning("%s: %s", self.stage.name, message.error())
                        continue
                    self.stage.apply(message.partition(), message, emit)
                    offsets[(message.topic(), message.partition())] = message.offset() + 1
                    self.processed += 1
                if offsets:
                    if producer.flush(60) > 0:  # outputs first ...
                        raise KafkaException("outputs not delivered within 60 s; not committing")
                    consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                    asynchronous=False)  # ... then the offsets
        finally:
            producer.flush(10)
            consumer.close()
