"""Kill the worker while its durable state copies are being written, and take its local stores away: the
lake must not notice (the restart discards a cut-short copy, a new host restores from the durable ones)."""

from __future__ import annotations

import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from streams.processor import local_state_root
from streams.producing import produce_raw
from streams.settings import Settings
from tests.faults.harness import landed_offset, wait_for_progress
from tests.integration.pipeline import expected, kill, lake_rows, lines, population, start_worker, wait_for_lake

pytestmark = pytest.mark.integration


def _torn_copies(lake: Path) -> list[Path]:
    return [path for path in (lake / "_state").glob("touchline-*/*/.*.tmp")]


@pytest.mark.timeout(1200)
def test_kills_while_state_is_copied_and_lost_local_stores(fresh_broker, tmp_path, report):
    """Half the rounds kill the worker while a durable copy is being written; the others delete its local stores."""
    events = population(60_000, seed=22)
    valid, malformed, journey_rows = expected(events)
    records = lines(events)
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    settings = {"TOUCHLINE_STATE_CHECKPOINT_SECONDS": "0.2"}  # copies are written all the time
    rounds = 6
    size = len(records) // (rounds + 1) + 1
    chunks = [records[i:i + size] for i in range(0, len(records), size)]
    started = time.monotonic()
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **settings)
    torn = deleted = 0
    torn_copies: set[str] = set()
    try:
        for round_ in range(rounds):
            before = landed_offset(lake)
            produce_raw(chunks[round_], fresh_broker.bootstrap)
            wait_for_progress(lake, before)
            if round_ % 2 == 0:
                deadline = time.monotonic() + 20
                while not _torn_copies(lake) and time.monotonic() < deadline:
                    time.sleep(0.001)
                kill(worker)  # as soon as a copy is being written
                assert worker.returncode == -signal.SIGKILL
                left = _torn_copies(lake)  # the copy the kill cut short (none if it was finished first)
                torn += bool(left)
                torn_copies.update(path.name for path in left)
            else:
                kill(worker)
                assert worker.returncode == -signal.SIGKILL
                shutil.rmtree(local_state_root(Settings(lake=lake)))  # a new host
                deleted += 1
            worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **settings)
        for chunk in chunks[rounds:]:
            produce_raw(chunk, fresh_broker.bootstrap)
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows), timeout=600)
    finally:
        kill(worker)
    text = log.read_text()
    restored = len(re.findall(r"restored partition \d+ from the durable copy", text))
    assert torn > 0, "no kill landed while a durable copy was being written"
    removed = {line.rsplit("/", 1)[-1] for line in text.splitlines() if "removed a torn durable copy" in line}
    assert torn_copies <= removed, "a restart did not discard a copy a kill cut short"
    assert restored >= deleted, "a worker with no local store did not restore from the durable copies"
    assert counts["touches"] == valid and counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows
    report.append(f"state faults: {rounds}/{rounds} rounds on {len(records):,} records, "
                  f"{torn} kills left a half-written durable copy behind, {deleted} local stores deleted "
                  f"({restored} partitions restored from durable copies); {len(journey_rows):,} journey rows = batch; "
                  f"{time.monotonic() - started:.0f} s")
