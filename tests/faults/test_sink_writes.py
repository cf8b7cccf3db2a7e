"""The sink killed mid-write, and a lake whose disk fills up.

A torn file must never become visible: SIGKILL a process in the middle of `Lake.write`
(ten times, at random points) and every visible Parquet file must be whole. A full disk must
pause the sink, not crash or lose anything: the worker resumes when space comes back.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sinks.lake import Lake
from streams.producing import produce_raw
from tests.integration.pipeline import expected, kill, lake_rows, lines, population, start_worker, wait_for_lake

pytestmark = pytest.mark.integration

ROWS = 20_000
WRITER = f"""
import sys
from sinks.lake import Lake
from sinks.tables import TABLES
records = [(i, {{"event_id": f"e{{i}}", "source": "test", "event_type": "site_visit",
                "occurred_at": f"2026-03-{{1 + i % 28:02d}}T10:00:00Z", "properties": {{"pad": "x" * 2000}}}})
           for i in range({ROWS})]
lake = Lake(sys.argv[1])
print("ready", flush=True)
for batch in range(1000):
    lake.write(TABLES["touches"], "touches-valid-v1", 0, [(batch * {ROWS} + i, r) for i, r in records])
"""


def test_a_sink_killed_mid_write_never_leaves_a_torn_file_visible(tmp_path, report):
    rng = random.Random(7)
    lake = tmp_path / "lake"
    checked = 0
    for _ in range(10):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(lake)], stdout=subprocess.PIPE,
                                  cwd=Path(__file__).resolve().parents[2])
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.2, 3.0))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        visible = Lake(lake).files("touches")
        for path in visible:  # what readers (the catalog's glob) can see is whole
            assert pq.read_metadata(path).num_rows > 0
            pq.read_table(path)
        checked += len(visible)
    assert checked > 0  # the kills came after some batches had landed
    leftovers = list(lake.rglob("*.tmp"))
    Lake(lake).landed("touches", "touches-valid-v1", 0)  # what a restarting sink does
    assert list(lake.rglob("*.tmp")) == []
    report.append(f"sink SIGKILL mid-write: 10/10 rounds, {checked} visible files checked whole, "
                  f"{len(leftovers)} torn temporary files left hidden and removed on restart")


def _run(*command: str) -> None:
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run(prefix + list(command), check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs: the lake's own small disk."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        _run("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount))
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        pytest.fail(f"mounting a tmpfs needs root or passwordless sudo (as in CI): {error}")
    yield mount
    _run("umount", "-l", str(mount))


def test_a_full_disk_pauses_the_sink_and_nothing_is_lost(fresh_broker, small_disk, tmp_path, report):
    events = population(20_000, seed=3)
    valid, malformed, journey_rows = expected(events)
    lake, log = small_disk / "lake", tmp_path / "worker.log"
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    with filler.open("wb") as handle:  # leave 64 KiB: the first batches fit, then the disk is full
        handle.write(b"\0" * (free - 64 * 1024))
    worker = start_worker(fresh_broker.bootstrap, lake, tmp_path / "touchline.duckdb", log)
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        deadline = time.monotonic() + 120
        while "cannot write the lake" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "cannot write the lake" in log.read_text(), log.read_text()[-3000:]
        time.sleep(3)
        assert worker.poll() is None  # paused, not dead
        filler.unlink()  # space comes back
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows), timeout=300)
        deadline = time.monotonic() + 60  # the files are visible a moment before the sink says so
        while "writable again; resumed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        kill(worker)
    assert "writable again; resumed" in log.read_text(), log.read_text()[-3000:]
    assert counts["touches"] == valid and counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows
    assert list(lake.rglob("*.tmp")) == []
    report.append(f"full disk: sink paused on ENOSPC and resumed; {valid:,} touches, {malformed:,} dead letters, "
                  f"{len(journey_rows):,} journey rows landed exactly (= batch)")
