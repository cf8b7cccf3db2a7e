"""Stage state that survives restarts: resumed from its checkpoint, never rebuilt from old input."""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from streams.runtime.processor import StageRunner, local_state_root
from streams.runtime.producing import produce_raw
from streams.runtime.state import DEDUPE_WINDOW, StateStore
from streams.settings import Settings
from streams.stages.resolve_touches import ResolveTouches
from tests.integration.pipeline import expected, kill, lake_rows, lines, population, start_worker, wait_for_lake
from transforms.settings import JourneySettings

pytestmark = pytest.mark.integration
TABLES = ("roots", "components", "pending")


def run_until(runner: StageRunner, processed: int, timeout: float = 120.0) -> None:
    """Run the stage in a thread until it has processed ``processed`` records, then stop it cleanly."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while runner.processed < processed:
        assert thread.is_alive(), "the stage died"
        assert time.monotonic() < deadline, f"processed {runner.processed} of {processed}"
        time.sleep(0.05)
    stop.set()
    thread.join(30)


def state_of(path: Path) -> dict[str, object]:
    """The state a store answers with: its tables, the dedupe keys still within the lateness window."""
    store = StateStore(path)
    try:
        state = {"position": store.position, **{name: dict(store.table(name).items()) for name in TABLES}}
        # the dedupe memory (streams.runtime.state.RecentKeys): each key's admitted copy's rank, and the index by hour
        horizon = store.value("seen:newest") - DEDUPE_WINDOW // timedelta(microseconds=1)
        copies, hours = b"\x00meta:seen:copies:", b"\x00meta:seen:copy-hours:"
        held = {key[len(copies):]: store.db[key] for key in store.db.keys(from_key=copies) if key.startswith(copies)}
        state["seen"] = {key: rank for key, rank in held.items()  # rank: received, then event time (8 bytes each)
                         if int.from_bytes(rank[8:16], "big") - (1 << 63) >= horizon}
        state["seen-hours"] = {key[len(hours):] for key in store.db.keys(from_key=hours) if key.startswith(hours)
                               and key[len(hours) + 8:] in state["seen"]}
        return state
    finally:
        store.close()


def test_a_restart_reads_no_record_before_its_checkpoint_and_ends_with_the_state_of_one_run(fresh_broker, tmp_path):
    records = lines(population(6_000, seed=11))
    first, second = records[:4_000], records[4_000:]
    settings = Settings(lake=tmp_path / "lake", state_dir=tmp_path / "state")

    produce_raw(first, fresh_broker.bootstrap)
    before = StageRunner(ResolveTouches(JourneySettings()), fresh_broker.bootstrap, settings, max_records=250)
    run_until(before, len(first))  # 16 polls of 250 records: 16 checkpoints
    store_path = tmp_path / "state" / "touchline-resolve-touches" / "touches-raw-v1-0"
    saved = state_of(store_path)
    assert saved["position"].offset == len(first)

    produce_raw(second, fresh_broker.bootstrap)
    after = StageRunner(ResolveTouches(JourneySettings()), fresh_broker.bootstrap, settings, max_records=250)
    run_until(after, len(second))
    assert after.restored[0] == saved["position"]
    assert after.first_read[0] == len(first), "the restart read input older than its checkpoint"
    assert after.processed == len(second)

    # The same records through one run that never stopped: the same state, entry for entry.
    once = Settings(lake=tmp_path / "lake-once", state_dir=tmp_path / "state-once")
    single = StageRunner(ResolveTouches(JourneySettings()), fresh_broker.bootstrap, once, group="once")
    run_until(single, len(records))
    resumed = state_of(store_path)
    unbroken = state_of(tmp_path / "state-once" / "once" / "touches-raw-v1-0")
    assert resumed["position"].offset == unbroken["position"].offset == len(records)
    for name in (*TABLES, "seen", "seen-hours"):
        assert resumed[name] == unbroken[name], name
    assert len(resumed["components"]) > 100
    assert len(resumed["seen"]) == len(resumed["seen-hours"]) > 1_000  # the dedupe memory was compared


STATEFUL = ("touchline-resolve-touches", "touchline-stitch-journeys")


def durable_copies(lake, group):
    return list((lake / "_state" / group).glob("*/*.tar"))


def test_a_worker_on_an_empty_local_disk_restores_from_durable_copies_and_lands_the_same_lake(fresh_broker,
                                                                                              tmp_path):
    events = population(12_000, seed=12)
    valid, malformed, journey_rows = expected(events)
    records = lines(events)
    half = len(records) // 2
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    env = {"TOUCHLINE_STATE_CHECKPOINT_SECONDS": "0.5"}
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **env)
    try:
        produce_raw(records[:half], fresh_broker.bootstrap)
        wait_for_lake(lake, 1, 0, 1, timeout=120, settle=0)
        deadline = time.monotonic() + 60
        while not all(durable_copies(lake, group) for group in STATEFUL) and time.monotonic() < deadline:
            time.sleep(0.05)  # durable copies are written every 0.5 s
        assert all(durable_copies(lake, group) for group in STATEFUL), "no durable copy to restore from"
        kill(worker)
        shutil.rmtree(local_state_root(Settings(lake=lake)))  # a new host: nothing local
        produce_raw(records[half:], fresh_broker.bootstrap)
        worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **env)
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows))
    finally:
        kill(worker)
    restored = re.findall(r"restored partition \d+ from the durable copy", log.read_text())
    assert restored, "nothing was restored from a durable copy"
    assert counts["touches"] == valid and counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows
