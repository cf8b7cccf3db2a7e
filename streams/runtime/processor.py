"""A consume-process-produce loop with durable state: exactly-once results over at-least-once delivery.

Each stage keeps its state per input partition in a local RocksDB store (``streams.runtime.state``).
Every ``state_commit_seconds`` (and when a partition is revoked, and at a clean stop):

1. the outputs are flushed to the broker;
2. the state of every partition that moved is checkpointed with the next offset to read, in
   one atomic write (so the store is always the fold of its partition up to that offset);
3. the offsets are committed to Kafka (for lag monitoring; the store decides where to resume).

When a partition is assigned, its state is opened from the local store, or restored from the
newest durable copy beside the lake (``streams.runtime.checkpoints``) when that one is further along
(a new host, a lost disk, a partition that moved), and consuming starts at the state's
position. No input before that position is read again, so topics may carry any retention
longer than the checkpoint interval. A crash repeats the records after the last checkpoint:
the stage emits the same deterministic records again, which the next stage and the lake
absorb by key. Durable copies are written every ``state_checkpoint_seconds`` in the
background, and when a partition is revoked or the loop stops.

The position names the topic's incarnation (its topic id): a topic created anew, on a new
broker say, is read from its beginning, the state carried on, and the log says so.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from sinks.storage import Storage
from streams.runtime.checkpoints import DurableCheckpoints
from streams.runtime.librdkafka_clients import fast_consumer, fast_producer, produce_in_order, topic_epoch
from streams.runtime.records import Record, received
from streams.runtime.state import Position, StateStore
from streams.settings import Settings

log = logging.getLogger(__name__)
#: How long a poll waits for a full batch: what a record may wait in its consumer before the stage sees it.
POLL_SECONDS = 0.05

#: emit(topic, key, value): send one output record.
Emit = Callable[[str, bytes | None, bytes], None]


def local_state_root(settings: Settings) -> Path:
    """Where the stages keep their local stores: ``TOUCHLINE_STATE_DIR``, else a cache folder of the lake's.

    Local state belongs on the worker's own disk, not the lake's (a full lake disk pauses the
    sink, it must not stop the stages). The folder is named by an id the lake keeps in
    ``_state/lake-id``, so a lake deleted and created again never meets the state of the old one.
    """
    if settings.state_dir:
        return Path(settings.state_dir)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "touchline" / "state" / _lake_id(Storage(settings.lake))


def _lake_id(storage: Storage) -> str:
    """The lake's id, named by the first process to ask (an object store has no exclusive create: two
    processes starting in the same instant may each keep their own, which only costs a restore)."""
    marker = ("_state", "lake-id")
    if storage.remote:
        if storage.read_bytes(*marker) is None:
            storage.write_bytes(uuid.uuid4().hex.encode(), *marker)
        return (storage.read_bytes(*marker) or b"").decode().strip()
    path = Path(storage.path_of(*marker))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as handle:  # the first process to get here names the lake
            handle.write(uuid.uuid4().hex)
    except FileExistsError:
        pass
    lake_id = ""
    while not lake_id:  # another process may be writing it this instant
        lake_id = path.read_text().strip()
    return lake_id


class Stage(Protocol):
    """What a stage implements; the loop does the Kafka and the state-store part."""

    name: str
    source: str

    def open(self, partition: int, store: StateStore) -> None:
        """Take up a partition whose state lives in ``store``."""

    def close(self, partition: int) -> None:
        """Let go of a partition (its store is closed after this)."""

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        """Process one record."""

    def save(self, partition: int) -> None:
        """Put what the stage keeps outside the store's tables into it: a checkpoint follows."""

    # Optional: ``tick(emit)``, called after every poll (records or none), for a stage whose work also
    # finishes between records (an alert's delivery answered).


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
        self.state_root = local_state_root(settings) / self.group
        self.durable = DurableCheckpoints(settings.lake, self.group)
        self.stores: dict[int, StateStore] = {}
        self.epoch = ""
        self.restored: dict[int, Position] = {}  # where each partition's state stood when it was taken up
        self.first_read: dict[int, int] = {}  # the first offset read after that
        self._copying: Future[Any] | None = None
        self._last_copy = time.monotonic()
        self._unsaved: dict[int, int] = {}  # partition -> offset after the last record applied, not yet saved
        self._producer: Producer | None = None
        self._outbox: dict[str, list[dict[str, Any]]] = {}  # topic -> records emitted, not yet produced
        self._undelivered: list[str] = []  # outputs the producer gave up on: no checkpoint may pass them

    # --- taking up and letting go of partitions -------------------------------------------

    def _open_store(self, partition: int) -> StateStore:
        """The partition's store: the local one, or the durable copy when that one is further along."""
        local_path = self.state_root / f"{self.stage.source}-{partition}"
        local = StateStore(local_path, cache_entries=self.settings.state_cache_entries) \
            if local_path.exists() else None
        local_position = local.position if local else None
        copies = self.durable.copies(self.stage.source, partition)
        newest = copies[-1] if copies else None
        same_epoch = [c for c in copies if c.position.epoch == self.epoch]
        best = max(same_epoch, key=lambda c: c.position.offset) if same_epoch else newest
        use_copy = best is not None and (
            local_position is None
            or (best.position.epoch == self.epoch and
                (local_position.epoch != self.epoch or best.position.offset > local_position.offset)))
        if use_copy and best is not None:
            if local is not None:
                local.close()
            self.durable.restore(best, local_path)
            log.info("%s: restored partition %s from the durable copy %s", self.stage.name, partition, best.path)
        elif local is not None:
            return local
        return StateStore(local_path, cache_entries=self.settings.state_cache_entries)

    def _take_up(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            opening = time.monotonic()
            try:
                store = self._open_store(tp.partition)
            except ValueError as error:  # a store of another format: start over, loudly
                log.error("%s: %s; the partition's state starts empty", self.stage.name, error)
                path = self.state_root / f"{self.stage.source}-{tp.partition}"
                shutil.rmtree(path, ignore_errors=True)
                store = StateStore(path, cache_entries=self.settings.state_cache_entries)
            position = store.position
            low, _ = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=30)
            if position is None:
                tp.offset = OFFSET_BEGINNING
                if low > 0:
                    log.error("%s: partition %s has no saved state and its first %s records are gone (retention): "
                              "state is built from offset %s", self.stage.name, tp.partition, low, low)
            elif position.epoch != self.epoch:
                tp.offset = OFFSET_BEGINNING
                log.warning("%s: %s is a new topic (id %s; the state was at offset %s of id %s): reading it from "
                            "its beginning, the state carried on", self.stage.name, tp.topic, self.epoch,
                            position.offset, position.epoch)
            else:
                tp.offset = position.offset
                if position.offset < low:
                    log.error("%s: partition %s: records %s..%s were deleted (retention) before this state read "
                              "them; reading on from %s", self.stage.name, tp.partition, position.offset, low - 1,
                              low)
            self.stores[tp.partition] = store
            self.restored[tp.partition] = position or Position(self.epoch, 0)
            self.first_read.pop(tp.partition, None)
            self.stage.open(tp.partition, store)
            log.info("%s: took up partition %s at %s (state opened in %.2f s)", self.stage.name, tp.partition,
                     f"offset {position.offset}" if position else "its beginning", time.monotonic() - opening)
        consumer.assign(partitions)

    def _let_go(self, partitions: list[TopicPartition]) -> None:
        """Save and close the partitions' state, leaving a durable copy for whoever takes them up."""
        self._checkpoint([tp.partition for tp in partitions])
        self._wait_for_copy()
        for tp in partitions:
            store = self.stores.pop(tp.partition, None)
            if store is None:
                continue
            self.stage.close(tp.partition)
            try:
                self.durable.save(store, self.stage.source, tp.partition)
            except Exception as error:  # (RocksDB reports a full disk as a plain Exception) the next owner reads more
                log.warning("%s: no durable copy of partition %s (%s)", self.stage.name, tp.partition, error)
            store.close()

    # --- durable copies -------------------------------------------------------------------

    def _wait_for_copy(self) -> None:
        if self._copying is not None:
            self._copying.result()
            self._copying = None

    def _copy_in_background(self, pool: ThreadPoolExecutor) -> None:
        """Every ``state_checkpoint_seconds``: durable copies of every partition, off the hot path."""
        if self._copying is not None and not self._copying.done():
            return
        if time.monotonic() - self._last_copy < self.settings.state_checkpoint_seconds:
            return
        self._last_copy = time.monotonic()
        stores = list(self.stores.items())

        def copy_all() -> None:
            for partition, store in stores:
                try:
                    self.durable.save(store, self.stage.source, partition)
                except Exception as error:  # a failed copy must not stop the stage: the next one retries
                    log.warning("%s: durable copy of partition %s failed (%s)", self.stage.name, partition, error)

        self._copying = pool.submit(copy_all)

    # --- the loop -------------------------------------------------------------------------

    def _checkpoint(self, partitions: list[int]) -> None:
        """Outputs delivered, then the state of ``partitions`` saved at the offset each reached."""
        partitions = [p for p in partitions if p in self._unsaved]
        if not partitions:
            return
        self._send()
        if self._producer is not None and self._producer.flush(60) > 0:
            raise KafkaException("outputs not delivered within 60 s; not checkpointing")
        if self._undelivered:  # the broker refused some for good: the records that made them are read again
            raise KafkaException(f"{len(self._undelivered)} outputs not delivered ({self._undelivered[0]}); "
                                 "not checkpointing")
        for partition in partitions:
            self.stage.save(partition)
            self.stores[partition].checkpoint(Position(self.epoch, self._unsaved.pop(partition)))

    def _delivered(self, error: Any, message: Any) -> None:
        """A delivery report (on the thread that polls or flushes): remember a record the broker never took."""
        if error is not None:
            self._undelivered.append(f"{message.topic()}: {error}")

    def _send(self) -> None:
        """Hand what the stage emitted since the last call to the producer, each topic's records in order."""
        if self._producer is not None:
            for topic, messages in self._outbox.items():
                produce_in_order(self._producer, topic, messages, self._delivered)
        self._outbox.clear()

    def run(self, stop: threading.Event) -> None:
        """Consume and process; every ``state_commit_seconds`` flush, checkpoint, commit; until ``stop``."""
        self.epoch = topic_epoch(self.bootstrap, self.settings, self.stage.source)
        consumer = fast_consumer(self.bootstrap, self.settings, self.group)
        producer = self._producer = fast_producer(self.bootstrap, self.settings)

        def emit(topic: str, key: bytes | None, value: bytes) -> None:
            self._outbox.setdefault(topic, []).append({"key": key, "value": value})

        consumer.subscribe([self.stage.source], on_assign=self._take_up,
                           on_revoke=lambda _, partitions: self._let_go(partitions),
                           on_lost=lambda _, partitions: self._let_go(partitions))
        pool = ThreadPoolExecutor(1, thread_name_prefix=f"{self.stage.name}-copy")
        unsaved = self._unsaved
        last_commit = time.monotonic()
        tick = getattr(self.stage, "tick", None)
        try:
            while not stop.is_set():
                for message in consumer.consume(self.max_records, POLL_SECONDS):
                    if message.error():
                        log.warning("%s: %s", self.stage.name, message.error())
                        continue
                    record = received(message)
                    partition = record.partition
                    if partition not in self.stores:
                        continue  # revoked during this poll: its next owner reads it
                    if partition not in self.first_read:
                        self.first_read[partition] = record.offset
                    self.stage.apply(partition, record, emit)
                    unsaved[partition] = record.offset + 1
                    self.processed += 1
                if tick is not None:
                    tick(emit)
                self._send()
                if unsaved and time.monotonic() - last_commit >= self.settings.state_commit_seconds:
                    committed = [TopicPartition(self.stage.source, p, o) for p, o in unsaved.items()]
                    self._checkpoint(list(unsaved))
                    consumer.commit(offsets=committed, asynchronous=True)  # for monitoring: the stores decide
                    last_commit = time.monotonic()
                    self._copy_in_background(pool)
            self._checkpoint(list(unsaved))
        except BaseException:
            unsaved.clear()  # a failed record may have left its state half-changed: never save it
            try:  # what was emitted goes out as before the failure (an alert's final row): the next stage dedupes
                self._send()
            except Exception as error:  # the failure being raised is the one to report
                log.warning("%s: outputs not handed to the producer after a failure (%s)", self.stage.name, error)
            raise
        finally:
            producer.flush(10)
            consumer.close()  # revokes: every partition's state is closed with a durable copy
            self._let_go([TopicPartition(self.stage.source, p) for p in list(self.stores)])
            pool.shutdown()
