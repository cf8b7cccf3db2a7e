"""Benchmark: the Delta lake. Landing while compaction runs, and attribution before and after compaction.

1. Landing: --batches micro-batches of --batch-rows journey rows (dates spread over 30 days, a
   tenth of each batch re-folding rows already landed) merged one commit each, as the sink
   lands them; first alone, then with a compaction of the table every --compact-seconds in a
   thread beside it. Prints rows/s and commit latency (p50, p95, max) for both.
2. Query: a lake of about --base × --copies journey touches landed in --commits appends (a
   file per event date each: the small files a stream leaves), then the rule-based attribution
   marts timed on it, before and after `Lake.compact`.

    .venv/bin/python benchmarks/lake.py [--batches 200] [--batch-rows 2000] [--base 1000000] [--copies 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.attribution import build_lake, timed
from sinks.attribution import open_lake
from sinks.lake import WRITE_ERRORS, Lake
from sinks.tables import TABLES

JOURNEYS = TABLES["journey_touches"]


def _row(number: int, rng: random.Random) -> dict[str, Any]:
    at = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(30 * 24 * 60))
    return {"event_id": f"e{number}", "source": "segment:web", "account_id": f"acct-{number % 5000}",
            "journey_id": f"acct-{number % 5000}:1", "cycle": 1, "seq": number, "stage": "engage",
            "event_type": "site_visit", "occurred_at": at.isoformat(), "channel": rng.choice(["paid", "email", "seo"]),
            "team": "marketing", "received_at": at.isoformat(), "properties": {"path": f"/p/{number % 97}"}}


def landing(root: Path, batches: int, batch_rows: int, compact_seconds: float | None) -> str:
    lake, rng = Lake(root), random.Random(5)
    stop, compactions = threading.Event(), [0]

    def compact() -> None:
        while not stop.wait(compact_seconds):
            try:
                lake.compact(JOURNEYS.name)
                compactions[0] += 1
            except WRITE_ERRORS:
                pass  # lost a race with a landing commit: next time

    if compact_seconds:
        threading.Thread(target=compact, daemon=True).start()
    latencies, number = [], 0
    started = time.perf_counter()
    for batch in range(batches):
        rows = [_row(number + i, rng) for i in range(batch_rows)]
        if number:  # re-folded rows: keys already in the table, new values
            rows += [{**_row(rng.randrange(number), rng), "stage": "close"} for _ in range(batch_rows // 10)]
        number += batch_rows
        begun = time.perf_counter()
        lake.write(JOURNEYS, rows, positions={"bench": batch})
        latencies.append(time.perf_counter() - begun)
    seconds = time.perf_counter() - started
    stop.set()
    latencies.sort()
    return (f"{number / seconds:9,.0f} rows/s; commit p50 {statistics.median(latencies) * 1000:6.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:6.0f} ms, max {latencies[-1] * 1000:6.0f} ms; "
            f"{len(lake.files(JOURNEYS.name))} files at the end, {compactions[0]} compactions")


def marts(lake: Path) -> None:
    connection = open_lake(lake, conversion="closed_won")
    connection.execute("select model, channel, sum(credit), sum(revenue_credit) from attribution_credits "
                       "where conversion_type = 'closed_won' group by all").fetchall()
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-rows", type=int, default=2000)
    parser.add_argument("--compact-seconds", type=float, default=2.0)
    parser.add_argument("--base", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--commits", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"landing {args.batches} batches of {args.batch_rows:,} rows (+10% re-folded)")
        print(f"  alone:                 {landing(Path(tmp) / 'alone', args.batches, args.batch_rows, None)}")
        print(f"  compacting every {args.compact_seconds:g} s: "
              f"{landing(Path(tmp) / 'compacting', args.batches, args.batch_rows, args.compact_seconds)}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = timed("setup: generate, stitch, replicate", lambda: build_lake(Path(tmp), args.base, args.copies,
                                                                                args.commits))
        lake = Lake(Path(tmp) / "lake")
        files = len(lake.files(JOURNEYS.name))
        print(f"lake: {rows:,} journey touches in {files:,} files ({args.commits} appends)")
        timed("rule-based marts (closed_won), small files", lambda: marts(lake.root))
        timed("compaction", lambda: lake.compact(JOURNEYS.name))
        print(f"after compaction: {len(lake.files(JOURNEYS.name)):,} files")
        timed("rule-based marts (closed_won), compacted", lambda: marts(lake.root))


if __name__ == "__main__":
    main()
