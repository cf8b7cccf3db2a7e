"""The collector under load: a fixed rate held, every accepted event landed, and a restart mid-load.

Requests are retried until accepted (as Segment's libraries do); a collector killed while it
had produced a batch but not yet answered makes the client send it again, and the pipeline's
dedupe must keep each event once.
"""

from __future__ import annotations

import threading

import pytest

from benchmarks.collector_load import drive
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.faults.harness import KEY, Collector, landed_event_ids
from tests.integration.pipeline import wait_for_lake

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(fresh_broker, tmp_path):
    worker = Worker(fresh_broker.bootstrap, Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")).start()
    collector = Collector(fresh_broker.bootstrap, tmp_path / "collector.log").start()
    yield worker, collector
    collector.stop()
    worker.close()


def test_a_fixed_rate_is_held_and_every_accepted_event_lands(pipeline, report):
    worker, collector = pipeline
    rate, seconds = 100.0, 20.0
    load = drive(collector.port, KEY, rate=rate, seconds=seconds, size=10)
    assert load.accepted == load.requests and load.retries == 0
    # The rate was offered on schedule and every request taken without a retry; how long the answers took
    # is bounded apart (a run ends with the last answer, which a busy 2-core machine can delay by a second).
    assert load.requests / load.sending_seconds >= 0.95 * rate
    assert load.percentile(0.99) < 0.5 and max(load.latencies) < 5.0
    wait_for_lake(worker.lake.root, len(load.event_ids), 0, 0, timeout=120)
    landed = landed_event_ids(worker.lake.root)
    assert sorted(landed) == sorted(load.event_ids)
    report.append(f"collector load: {load.summary()}; {len(landed):,} of {len(load.event_ids):,} accepted "
                  "events landed")


def test_collector_killed_and_restarted_under_load_loses_and_doubles_nothing(pipeline, report):
    worker, collector = pipeline

    def restart() -> None:
        collector.kill()
        collector.start()

    timer = threading.Timer(6.0, restart)
    timer.start()
    load = drive(collector.port, KEY, rate=50.0, seconds=15.0, size=10)
    timer.join()
    assert load.retries > 0  # the kill was felt
    wait_for_lake(worker.lake.root, len(load.event_ids), 0, 0, timeout=120)
    landed = landed_event_ids(worker.lake.root)
    assert len(landed) == len(set(landed))  # nothing twice
    assert set(landed) == load.event_ids  # nothing lost
    report.append(f"collector SIGKILL + restart under load: {load.retries} retried requests, "
                  f"{len(landed):,} of {len(load.event_ids):,} events landed once each")
