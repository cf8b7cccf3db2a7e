"""The sink killed mid-write, and a lake whose disk fills up.

A killed commit must never become visible: SIGKILL a process in the middle of `Lake.write`
(ten times, at random points) and the table must hold exactly the committed batches, once each. A full disk must
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

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sinks.lake import Lake
from streams.runtime.producing import produce_raw
from tests.integration.pipeline import expected, kill, lake_rows, lines, population, start_worker, wait_for_lake

pytestmark = pytest.mark.integration

ROWS = 5_000
APP = "touchline-land/touches-valid-v1/0/test"
WRITER = f"""
import sys
from sinks.lake import Lake
from sinks.tables import TABLES
lake = Lake(sys.argv[1])
start = lake.landed("touches", "{APP}") + 1  # what a restarting sink does
print("ready", flush=True)
for batch in range(start, 1000):
    records = [{{"event_id": f"e{{batch}}-{{i}}", "source": "test", "event_type": "site_visit",
                "occurred_at": f"2026-03-{{1 + i % 28:02d}}T10:00:00Z", "properties": {{"pad": "x" * 500}}}}
               for i in range({ROWS})]
    lake.write(TABLES["touches"], records, positions={{"{APP}": batch}})
"""


def test_a_sink_killed_mid_commit_lands_each_batch_once_and_whole(tmp_path, report):
    rng = random.Random(7)
    lake = Lake(tmp_path / "lake")
    committed = 0
    for _ in range(10):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(lake.root)], stdout=subprocess.PIPE,
                                  cwd=Path(__file__).resolve().parents[2])
        assert writer.stdout is not None and writer.stdout.readline().strip() == b"ready"
        before = lake.landed("touches", APP)
        deadline = time.monotonic() + 60
        commits = rng.randint(0, 2)  # a random point: after 0 to 2 commits of this writer
        while lake.landed("touches", APP) < before + commits:
            assert time.monotonic() < deadline, "the writer committed nothing"
            time.sleep(0.01)
        written = set(lake.unreferenced("touches"))
        while set(lake.unreferenced("touches")) <= written:
            assert time.monotonic() < deadline, "the writer wrote no files"
            time.sleep(0.002)  # until a batch's files are written and its commit is not yet in the log
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert writer.returncode == -signal.SIGKILL
        landed = lake.landed("touches", APP)
        table = lake.table("touches")
        committed += landed - before
        if table is None:  # killed before the first commit
            continue
        # Exactly the committed batches, each whole and once: a killed commit is invisible.
        ids = pa.concat_tables(pq.read_table(path, columns=["event_id"]) for path in lake.files("touches"))
        assert ids.num_rows == len(set(ids["event_id"].to_pylist())) == (landed + 1) * ROWS
        assert table.to_pyarrow_table(columns=["event_id"]).num_rows == ids.num_rows
    orphans = lake.unreferenced("touches")  # written by a killed commit: no version reads them
    assert orphans, "no kill cut a commit in flight"
    assert committed > 0, "no batch committed between the kills"
    removed = lake.vacuum("touches", retention_hours=0)
    assert sorted(removed) == sorted(str(Path(path).relative_to(lake.uri("touches"))) for path in orphans)
    assert lake.unreferenced("touches") == []
    report.append(f"sink SIGKILL mid-commit: 10/10 rounds, {landed + 1} batches of {ROWS:,} rows committed once "
                  f"each; {len(orphans)} files of killed commits never visible, removed by vacuum")


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
    report.append(f"full disk: sink paused on ENOSPC and resumed; {valid:,} touches, {malformed:,} dead letters, "
                  f"{len(journey_rows):,} journey rows landed exactly (= batch)")
