"""SIGKILL the worker at random points of a 200k-touch stream, ten times: the lake must not notice.

After the last restart the lake must equal the batch engine's result (which the no-fault
stream equals: tests/integration/test_pipeline.py), and attribution totals must match to the cent.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sinks.lake import Lake
from streams.processor import local_state_root
from streams.producing import produce_raw
from streams.settings import Settings
from tests.integration.pipeline import (
    attribution_totals,
    expected,
    kill,
    lake_rows,
    lines,
    population,
    start_worker,
    wait_for_lake,
)

pytestmark = pytest.mark.integration

ROUNDS = 10


def _landed_offset(lake: Path) -> int:
    """The touches table's version: each landing commit adds one."""
    return Lake(lake).version("touches")


def _wait_for_progress(lake: Path, before: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while _landed_offset(lake) <= before:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)


@pytest.mark.timeout(1800)  # 3-8 minutes on this 2-core machine, depending on the day
def test_ten_sigkills_at_random_points_of_a_200k_stream(fresh_broker, tmp_path, report):
    events = population(200_000, seed=21)
    valid, malformed, journey_rows = expected(events)
    records = lines(events)
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    rng = random.Random(2026)
    size = len(records) // (ROUNDS + 1) + 1
    chunks = [records[i:i + size] for i in range(0, len(records), size)]
    started = time.monotonic()
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
    killed_after = []
    try:
        for round_ in range(ROUNDS):
            before = _landed_offset(lake)
            produce_raw(chunks[round_], fresh_broker.bootstrap)
            _wait_for_progress(lake, before)  # this incarnation is working: landing its first batch
            wait = rng.uniform(0.0, 2.5)  # then mid-processing, mid-commit or mid-landing
            time.sleep(wait)
            kill(worker)
            killed_after.append(round(wait, 1))
            worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
        for chunk in chunks[ROUNDS:]:
            produce_raw(chunk, fresh_broker.bootstrap)
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows), timeout=900)
    finally:
        kill(worker)
    seconds = time.monotonic() - started
    rebuilds = len(re.findall(r"took up partition \d+ at offset [1-9]", log.read_text()))
    assert rebuilds > 0, "no restart found saved state to resume from"
    assert counts["touches"] == valid and counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows

    jsonl = tmp_path / "touches.jsonl"
    jsonl.write_bytes(b"\n".join(records) + b"\n")
    stitched = tmp_path / "stitched"
    subprocess.run([sys.executable, "-m", "streams", "stitch", str(jsonl), "--lake", str(stitched), "-o",
                    str(tmp_path / "rows.jsonl")], check=True, capture_output=True)
    faulted, clean = attribution_totals(lake), attribution_totals(stitched)
    assert faulted == clean
    revenue = sum(r for (model, kind), (_, r) in clean.items() if model == "linear" and kind == "closed_won")
    report.append(f"worker SIGKILL: {ROUNDS}/{ROUNDS} rounds survived on {len(records):,} records "
                  f"(kills {killed_after} s after each incarnation's first landing; "
                  f"{rebuilds} resumptions from saved state); "
                  f"{valid:,} touches, {malformed:,} dead letters, {len(journey_rows):,} journey rows = batch; "
                  f"attribution equal to the cent (closed-won revenue {revenue:,.2f}); {seconds:.0f} s")


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
    try:
        for round_ in range(rounds):
            before = _landed_offset(lake)
            produce_raw(chunks[round_], fresh_broker.bootstrap)
            _wait_for_progress(lake, before)
            if round_ % 2 == 0:
                deadline = time.monotonic() + 20
                while not _torn_copies(lake) and time.monotonic() < deadline:
                    time.sleep(0.001)
                kill(worker)  # as soon as a copy is being written
                torn += bool(_torn_copies(lake))
            else:
                kill(worker)
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
    assert restored >= deleted, "a worker with no local store did not restore from the durable copies"
    assert counts["touches"] == valid and counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows
    report.append(f"state faults: {rounds}/{rounds} rounds on {len(records):,} records, "
                  f"{torn} kills left a half-written durable copy behind, {deleted} local stores deleted "
                  f"({restored} partitions restored from durable copies); {len(journey_rows):,} journey rows = batch; "
                  f"{time.monotonic() - started:.0f} s")
