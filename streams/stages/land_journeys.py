"""``land_journeys``: the micro-batch sink from the pipeline's topics to the lake's Delta tables.

Progress lives in the tables, not in Kafka: each commit records the last offset it landed as
a Delta application transaction named after the topic-partition and the topic's id. On
assignment the sink seeks each partition to the offset after it, so records land exactly
once even when the offsets committed to Kafka lag behind; a new topic (a new broker, a
re-created topic) has a new id, so it is landed from its beginning, never skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from confluent_kafka import TopicPartition

from sinks.lake import WRITE_ERRORS, Lake, stream_app_id
from sinks.privacy import SuppressionWatch, for_landing
from sinks.tables import TABLES
from streams import topics
from streams.runtime.librdkafka_clients import fast_consumer, topic_epoch
from streams.runtime.processor import POLL_SECONDS
from streams.runtime.records import Record, loads, received
from streams.settings import LakeSettings, Settings

log = logging.getLogger(__name__)

POLL_RECORDS = 5000
TOPIC_TABLES = {
    topics.TOUCHES_VALID: "touches",
    topics.JOURNEY_TOUCHES: "journey_touches",
    topics.TOUCHES_DLQ: "dead_letters",
    topics.IDENTITY_MERGES: "identity_merges",
    topics.SLA_BREACHES: "sla_breaches",
    topics.TOUCHES_LATE: "late_touches",
    topics.ALERTS: "alerts",
}


class LakeSink:
    """Buffers records per topic-partition and lands them every ``max_rows`` or ``max_seconds`` (unset: the
    settings' ``lake_land_rows`` and ``lake_land_seconds``)."""

    name = "land-journeys"

    def __init__(self, bootstrap: str, settings: Settings, landing: LakeSettings, *, max_rows: int | None = None,
                 max_seconds: float | None = None, retry_seconds: float = 1.0,
                 on_landed: Callable[[set[str]], None] | None = None, announce_seconds: float = 5.0) -> None:
        self.bootstrap = bootstrap
        self.settings = settings  # how to reach Kafka
        self.landing = landing
        self.lake = Lake(landing.root)
        self.max_rows = max_rows or settings.lake_land_rows
        self.max_seconds = max_seconds or settings.lake_land_seconds
        self.retry_seconds = retry_seconds
        self.paused = False  # the lake could not be written: consuming is paused until it can
        self.on_landed = on_landed
        self.buffer: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = {}
        self.buffered = 0
        self.oldest = 0.0
        self.landed_rows = 0
        self.unannounced: set[str] = set()  # tables landed that on_landed has not been told of
        self.announce_seconds = announce_seconds  # on_landed (a catalog refresh) runs at most this often
        self.announced = 0.0
        self.suppressions = SuppressionWatch(self.lake, landing.suppression_key)
        self.salt = landing.salt
        self.topic_ids: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(len(TOPIC_TABLES), thread_name_prefix="touchline-land")
        self._announcing = threading.Lock()  # the compaction thread adds to unannounced too

    def take(self, record: Record) -> None:
        """Buffer one record of a topic the sink lands."""
        if not self.buffered:
            self.oldest = time.monotonic()
        key = (record.topic, record.partition)
        self.buffer.setdefault(key, []).append((record.offset, loads(record.value)))
        self.buffered += 1

    def due(self, caught_up: bool = False) -> bool:
        """Whether the buffer is full enough, or old enough, to land: ``max_seconds`` old, or half that once the
        sink has ``caught_up`` (its last poll came back short: live traffic lands sooner, a backlog in fewer,
        larger commits)."""
        age = time.monotonic() - self.oldest
        return bool(self.buffered) and (self.buffered >= self.max_rows or age >= self.max_seconds
                                        or (caught_up and age >= self.max_seconds / 2))

    def flush(self) -> None:
        """Land everything buffered, then tell ``on_landed`` which tables changed."""
        self._land()
        self._announce(now=True)

    def _announce(self, *, now: bool = False) -> None:
        """Tell ``on_landed`` the tables landed since it was last told (a failed flush may have landed some):
        at once when ``now``, else once ``announce_seconds`` have passed since it was last told."""
        if not self.unannounced or not (now or time.monotonic() - self.announced >= self.announce_seconds):
            return
        with self._announcing:
            tables, self.unannounced = self.unannounced, set()
        if self.on_landed:
            self.on_landed(tables)
        self.announced = time.monotonic()

    def _land(self) -> None:
        """Land everything buffered: one commit per topic (all its partitions, each partition's offset
        recorded in it), the topics' commits side by side (a merge runs in delta-rs, off the GIL: a
        touch no longer waits for the journey rows' merge before its own); a topic's records leave the
        buffer once committed.

        A write error (a full disk, say) propagates with the rest still buffered; a retry
        merges on the tables' keys, so it never duplicates.
        """
        suppressions = self.suppressions.get()  # forgotten people never land again
        by_topic: dict[str, dict[int, list[tuple[int, dict[str, Any]]]]] = {}
        for (topic, partition), records in self.buffer.items():  # here: the threads never read the buffer
            by_topic.setdefault(topic, {})[partition] = records
        landing = {topic: self._pool.submit(self._land_topic, topic, batches, suppressions)
                   for topic, batches in sorted(by_topic.items())}
        failed: BaseException | None = None
        for topic, future in landing.items():
            try:
                self.landed_rows += future.result()
            except BaseException as error:  # the others' commits stand: their records leave the buffer
                failed = failed or error
                continue
            self.unannounced.add(TOPIC_TABLES[topic])
            for partition, records in by_topic[topic].items():
                del self.buffer[(topic, partition)]
                self.buffered -= len(records)
        if failed is not None:
            raise failed

    def _land_topic(self, topic: str, batches: dict[int, list[tuple[int, dict[str, Any]]]], suppressions: Any) -> int:
        """Commit one topic's buffered records (by partition) to its table; return the rows merged."""
        table = TABLES[TOPIC_TABLES[topic]]
        landing = (record for records in batches.values() for _, record in records)
        if suppressions.digests or (self.salt and table.name == "dead_letters"):  # else no pass over the batch
            landing = (for_landing(table.name, record, self.salt, suppressions) for record in landing)
        positions = {self._app_id(topic, partition): records[-1][0] for partition, records in batches.items()}
        return self.lake.write(table, landing, positions=positions)

    def _app_id(self, topic: str, partition: int) -> str:
        if topic not in self.topic_ids:
            self.topic_ids[topic] = topic_epoch(self.bootstrap, self.settings, topic)
        return stream_app_id(topic, partition, self.topic_ids[topic])

    def _flush_or_pause(self, consumer: Any, stop: threading.Event) -> None:
        """Flush; while the lake cannot be written (disk full), pause consuming and retry.

        Stopped while paused, it gives up: what is buffered is read again after what the lake committed.
        Consuming resumes as soon as the files are written, before ``on_landed`` (a catalog
        refresh) runs.
        """
        reported: tuple[type, int | None] | None = None
        while not stop.is_set() or not self.paused:
            try:
                self._land()
                break
            except WRITE_ERRORS as error:
                if not self.paused:
                    consumer.pause(consumer.assignment())
                    self.paused = True
                kind = (type(error), getattr(error, "errno", None))
                if kind != reported:  # the first error, and each different one after it
                    log.warning("land-journeys: cannot write the lake (%s); paused, retrying every %.0fs",
                                error, self.retry_seconds)
                    reported = kind
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
        fresh: dict[str, list[int]] = {}
        for tp in partitions:
            landed = self.lake.landed(TOPIC_TABLES[tp.topic], self._app_id(tp.topic, tp.partition))
            tp.offset = landed + 1
            if landed < 0:
                fresh.setdefault(tp.topic, []).append(tp.partition)
        for topic, numbers in sorted(fresh.items()):
            log.info("land-journeys: %s%s (topic id %s) has nothing in the lake yet: landing it from its beginning",
                     topic, sorted(numbers), self.topic_ids[topic])
        consumer.assign(partitions)
        if self.paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        try:
            self.flush()
        except WRITE_ERRORS as error:  # the next owner reads these records again, after what the lake committed
            log.warning("land-journeys: could not land before the rebalance (%s)", error)
            self.buffer, self.buffered = {}, 0

    def _compact_every(self, seconds: float, stop: threading.Event) -> None:
        """Compact each table every ``seconds`` beside landing; a compaction that loses a race with a
        landing commit is tried again next time (landing never waits for it)."""
        while not stop.wait(seconds):
            for name in TOPIC_TABLES.values():
                try:
                    metrics = self.lake.compact(name)
                except WRITE_ERRORS as error:
                    log.info("land-journeys: compacting %s gave way (%s); trying again later", name, error)
                    continue
                if metrics.get("numFilesRemoved"):
                    with self._announcing:  # the views over it read files that compaction replaced
                        self.unannounced.add(name)
                    log.info("land-journeys: compacted %s: %d files into %d", name, metrics["numFilesRemoved"],
                             metrics["numFilesAdded"])

    def run(self, stop: threading.Event) -> None:
        """Consume and land until ``stop``; lands what is buffered before returning."""
        if self.landing.compact_seconds > 0:
            threading.Thread(target=self._compact_every, args=(self.landing.compact_seconds, stop),
                             name="touchline-compact", daemon=True).start()
        consumer = fast_consumer(self.bootstrap, self.settings, "touchline-land-journeys")
        consumer.subscribe(list(TOPIC_TABLES), on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while not stop.is_set():
                messages = consumer.consume(POLL_RECORDS, POLL_SECONDS)
                for message in messages:
                    if message.error():
                        log.warning("land-journeys: %s", message.error())
                        continue
                    self.take(received(message))
                # While paused, go on trying even with nothing buffered: a flush before a rebalance
                # may have landed (or dropped) the buffer, and only a successful try resumes consuming.
                if self.paused or self.due(caught_up=len(messages) < POLL_RECORDS):
                    self._flush_or_pause(consumer, stop)
                self._announce()  # what landed a moment ago, once the refresh is due
            self._flush_or_pause(consumer, stop)
            self._announce(now=True)
        finally:
            consumer.close()
            self._pool.shutdown()
