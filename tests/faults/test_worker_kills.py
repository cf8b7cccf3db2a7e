"""SIGKILL the worker at random points of a 200k-touch stream, ten times: the lake must not notice.

After the last restart the lake must equal the batch engine's result (which the no-fault
stream equals: tests/integration/test_pipeline.py), and attribution totals must match to the cent.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sinks.lake import Lake
from streams.producing import produce_raw
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
