"""The peers' work on Touchline's own runtime, for benchmarks/stream.py: re-key, then count in RocksDB state.

The same job as benchmarks/faust_baseline.py and benchmarks/quix_baseline.py, as two stages of
``streams.runtime`` in one process (a thread each, as one Faust or quix-streams application is one
process): one re-keys each record by account onto a 4-partition topic, the other counts per
account in its partitions' state stores, checkpointed with their input positions as the pipeline's
stages are. Run as a subprocess:

    python benchmarks/runtime_baseline.py BOOTSTRAP TOPIC COUNT DIR

It prints `processed COUNT in SECONDS` once COUNT records went through the count's state.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.processor import Emit, StageRunner
from streams.runtime.records import Record, loads
from streams.runtime.state import StateStore, StoreTable
from streams.settings import Settings

bootstrap, topic_name, expected, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
REKEYED = topic_name + "-rekeyed"
progress = {"seen": 0, "started": 0.0}
done = threading.Event()


class Rekey:
    """Each record onto the re-keyed topic, keyed by its account; the clock starts at the first one read."""

    name = "bench-rekey"
    source = topic_name

    def open(self, partition: int, store: StateStore) -> None:
        """No state."""

    def close(self, partition: int) -> None:
        """No state."""

    def save(self, partition: int) -> None:
        """No state."""

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        progress["started"] = progress["started"] or time.monotonic()
        event = loads(record.value)
        emit(REKEYED, (event.get("account_id") or event.get("anonymous_id") or "none").encode(), record.value)


class Count:
    """A count per account in each partition's state store."""

    name = "bench-count"
    source = REKEYED

    def __init__(self) -> None:
        self.counts: dict[int, StoreTable] = {}

    def open(self, partition: int, store: StateStore) -> None:
        self.counts[partition] = store.table("counts")

    def close(self, partition: int) -> None:
        self.counts.pop(partition, None)

    def save(self, partition: int) -> None:
        """Everything lives in the store's table."""

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        counts, account = self.counts[partition], (record.key or b"").decode()
        counts[account] = counts.get(account, 0) + 1
        progress["seen"] += 1
        if progress["seen"] == expected:
            print(f"processed {expected} in {time.monotonic() - progress['started']:.3f}", flush=True)
            done.set()


if __name__ == "__main__":
    settings = Settings(lake=folder / "lake", state_dir=folder / "state")
    create_topics(bootstrap, [REKEYED], 4, settings)
    stop = threading.Event()
    runners = [threading.Thread(target=StageRunner(stage, bootstrap, settings).run, args=(stop,), daemon=True)
               for stage in (Rekey(), Count())]
    for runner in runners:
        runner.start()
    done.wait()
    stop.set()
    for runner in runners:
        runner.join(30)
