"""How much the lake holds, and waiting until it holds what a run expects (tests, benchmarks, the demo)."""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

from sinks.lake import Lake
from sinks.tables import TABLES


def landed_counts(lake: Lake) -> dict[str, int]:
    """Rows per table in the current version of each Delta table (one row per key)."""
    counts = {}
    connection = lake.connect()
    try:
        for name in TABLES:
            files = lake.files(name)
            counts[name] = connection.execute("select count(*) from read_parquet(?)", [files]).fetchone()[0] \
                if files else 0  # type: ignore[index]
    finally:
        connection.close()
    return counts


def wait_until_landed(lake: Lake, touches: int, dead_letters: int, journeys: int = 0, *,
                      alive: Callable[[], bool] = lambda: True, timeout: float = 300.0,
                      settle_seconds: float = 2.0) -> dict[str, int]:
    """Wait until the lake holds the expected touches, dead letters and journey rows, then settles.

    Settling watches the tables waited for: journey rows and the SLA breaches beside them only when
    journey rows are expected (a caller waiting for touches alone is not held up by a stitch stage
    still catching up). ``alive``
    says whether the worker is still running; a dead one ends the wait at once.
    """
    watched = ("touches", "dead_letters") + (("journey_touches", "sla_breaches") if journeys else ())
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("a stage of the worker died; see its log")
        try:
            counts = landed_counts(lake)
        except duckdb.IOException:  # a file vanished between listing and reading (a restart's cleanup)
            time.sleep(0.5)
            continue
        if last is None or any(counts[name] != last[name] for name in watched):
            stable_since = time.monotonic()
        last = counts
        done = counts["touches"] >= touches and counts["dead_letters"] >= dead_letters \
            and counts["journey_touches"] >= journeys
        if done and time.monotonic() - stable_since >= settle_seconds:
            return counts
        time.sleep(0.5)
    raise TimeoutError(f"after {timeout:.0f}s the lake holds {last}; expected {touches} touches, "
                       f"{dead_letters} dead letters, {journeys} journey touches")
