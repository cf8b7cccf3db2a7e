"""SIGKILL the worker at random points of a 200k-touch stream, ten times: the lake must not notice.

After the last restart the lake must equal the batch engine's result (which the no-fault
stream equals: tests/integration/test_pipeline.py), and attribution totals must match to the cent.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sinks.lake import Lake
from streams.runtime.processor import local_state_root
from streams.runtime.producing import produce_raw
from streams.settings import Settings
from tests.faults.harness import landed_offset, wait_for_progress
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


def _landed_touches(lake: Path) -> int:
    return Lake(lake).rows("touches")


def _produce_paced(records: list[bytes], bootstrap: str, chunk: int = 250, pause: float = 0.1) -> None:
    """The records over some seconds, as a live stream arrives: landings happen while the rest still comes."""
    for start in range(0, len(records), chunk):
        produce_raw(records[start:start + chunk], bootstrap)
        time.sleep(pause)


def _distinct_touches(records: list[bytes]) -> int:
    """How many distinct (source, event_id) the records could land at most (malformed ones included)."""
    keys = set()
    for record in records:
        try:
            body = json.loads(record)
        except ValueError:
            continue
        if isinstance(body, dict):
            keys.add((body.get("source"), body.get("event_id")))
    return len(keys)


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
    killed_at = []  # (touches landed of this round at the kill, the most it could land)
    try:
        for round_ in range(ROUNDS):
            start = _landed_touches(lake)
            most = _distinct_touches([r for chunk in chunks[:round_ + 1] for r in chunk]) - start
            produce_raw(chunks[round_][:500], fresh_broker.bootstrap)
            wait_for_progress(lake, before=landed_offset(lake))  # this incarnation is up and landing
            # the rest arrives over some seconds; the kill comes at a random point while it does: once a
            # random share of the round's touches has landed
            sending = threading.Thread(target=_produce_paced, args=(chunks[round_][500:], fresh_broker.bootstrap))
            sending.start()
            share = rng.uniform(0.0, 0.5)
            deadline = time.monotonic() + 180
            while (landed := _landed_touches(lake) - start) <= share * most:
                assert time.monotonic() < deadline and worker.poll() is None, "the worker made no progress"
                time.sleep(0.02)
            kill(worker)
            assert worker.returncode == -signal.SIGKILL  # it died by the kill, nothing else
            sending.join()
            at_kill = _landed_touches(lake) - start  # the lake after the kill: what had landed by then
            assert 0 < at_kill < most, f"round {round_}: the kill was not mid-stream ({at_kill} of {most})"
            killed_at.append((landed, most))
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
                  f"(kills with {[f'{n}/{most}' for n, most in killed_at]} of each round's touches landed; "
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
