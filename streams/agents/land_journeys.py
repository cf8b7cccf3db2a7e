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
from typing import Any

from confluent_kafka import TopicPartition

from sinks.lake import Lake
from sinks.privacy import SuppressionWatch, for_landing
from sinks.tables import TABLES
from streams import topics
from streams.fast_clients import fast_consumer
from streams.settings import Settings, salt_of

log = logging.getLogger(__name__)

TOPIC_TABLES = {
    topics.TOUCHES_VALID: "touches",
    topics.JOURNEY_TOUCHES: "journey_touches",
    topics.TOUCHES_DLQ: "dead_letters",
    topics.IDENTITY_MERGES: "identity_merges",
    topics.SLA_BREACHES: "sla_breaches",
    topics.TOUCHES_LATE: "late_touches",
}


class LandJourneys:
    """Buffers records per topic-partition and lands them every ``max_rows`` or ``max_seconds``."""

    name = "land-journeys"

    def __init__(self, bootstrap: str, settings: Settings, lake: Lake, *, max_rows: int = 50_000,
                 max_seconds: float = 2.0, retry_seconds: float = 1.0,
                 on_landed: Callable[[set[str]], None] | None = None) -> None:
        self.bootstrap = bootstrap
        self.settings = settings
        self.lake = lake
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.retry_seconds = retry_seconds
        self.paused = False  # the lake could not be written: consuming is paused until it can
        self.on_landed = on_landed
        self.buffer: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = {}
        self.buffered = 0
        self.oldest = 0.0
        self.landed_rows = 0
        self.unannounced: set[str] = set()  # tables landed that on_landed has not been told of
        self.suppressions = SuppressionWatch(lake.root)
        self.salt = salt_of(settings)

    def flush(self) -> None:
        """Land everything buffered, then tell ``on_landed`` which tables changed."""
        self._land()
        self._announce()

    def _announce(self) -> None:
        """Tell ``on_landed`` the tables landed since it was last told (a failed flush may have landed some)."""
        if self.unannounced and self.on_landed:
            self.on_landed(set(self.unannounced))
        self.unannounced.clear()

    def _land(self) -> None:
        """Land everything buffered; each topic-partition leaves the buffer once it has landed.

        An ``OSError`` (a full disk, say) propagates with the rest still buffered; landing it
        again rewrites the same file names, so a retry never duplicates.
        """
        suppressions = self.suppressions.get()  # forgotten people never land again
        for (topic, partition), records in list(self.buffer.items()):
            if records:
                table = TABLES[TOPIC_TABLES[topic]]
                landing = records
                if suppressions.digests or (self.salt and table.name == "dead_letters"):  # else no pass over the batch
                    landing = [(offset, for_landing(table.name, record, self.salt, suppressions))
                               for offset, record in records]
                self.landed_rows += self.lake.write(table, topic, partition, landing)
                self.unannounced.add(table.name)
            self.buffered -= len(records)
            del self.buffer[(topic, partition)]

    def _flush_or_pause(self, consumer: Any, stop: threading.Event) -> None:
        """Flush; while the lake cannot be written (disk full), pause consuming and retry.

        Stopped while paused, it gives up: what is buffered is read again after the manifests.
        Consuming resumes as soon as the files are written, before ``on_landed`` (a catalog
        refresh) runs.
        """
        reported: tuple[type, int | None] | None = None
        while not stop.is_set() or not self.paused:
            try:
                self._land()
                break
            except OSError as error:
                if not self.paused:
                    consumer.pause(consumer.assignment())
                    self.paused = True
                if (type(error), error.errno) != reported:  # the first error, and each different one after it
                    log.warning("land-journeys: cannot write the lake (%s); paused, retrying every %.0fs",
                                error, self.retry_seconds)
                    reported = (type(error), error.errno)
                # Polling keeps the group membership; paused partitions return nothing, and anything
                # else is put back to be read again after the pause.
                message = consumer.poll(self.retry_seconds)
                if message is not None and not message.error():
                    consumer.seek(TopicPartition(message.topic(), message.partition(), message.offset()))
                    consumer.pause([TopicPartition(message.topic(), message.partition())])
        if self.paused and not self.buffered:
            log.warning("land-journeys: the lake is writable again; resumed")
            consumer.resume(consumer.assignment())
            self.paused = False
        self._announce()

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Resume after what the lake holds, whatever Kafka remembers.
        for tp in partitions:
            tp.offset = self.lake.landed(TOPIC_TABLES[tp.topic], tp.topic, tp.partition) + 1
        consumer.assign(partitions)
        if self.paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        try:
            self.flush()
        except OSError as error:  # the next owner reads these records again, after the manifests
            log.warning("land-journeys: could not land before the rebalance (%s)", error)
            self.buffer, self.buffered = {}, 0

    def run(self, stop: threading.Event) -> None:
        """Consume and land until ``stop``; lands what is buffered before returning."""
        consumer = fast_consumer(self.bootstrap, self.settings, "touchline-land-journeys")
        consumer.subscribe(list(TOPIC_TABLES), on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not stop.is_set():
                for message in consumer.consume(5000, 0.2):
                    if message.error():
                        log.warning("land-journeys: %s", message.error())
                        continue
                    if not self.buffered:
                        self.oldest = time.monotonic()
                    key = (message.topic(), message.partition())
                    self.buffer.setdefault(key, []).append((message.offset(), json.loads(message.value())))
                    self.buffered += 1
                # While paused, go on trying even with nothing buffered: a flush before a rebalance
                # may have landed (or dropped) the buffer, and only a successful try resumes consuming.
                if self.paused or (self.buffered and (self.buffered >= self.max_rows
                                                      or time.monotonic() - self.oldest >= self.max_seconds)):
                    self._flush_or_pause(consumer, stop)
            self._flush_or_pause(consumer, stop)
        finally:
            consumer.close()
