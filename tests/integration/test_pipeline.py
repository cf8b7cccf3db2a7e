"""The streaming pipeline end to end on the embedded broker."""

import re
import time

import pytest

from sinks.lake import Lake
from sinks.query import query
from streams.producing import produce_raw
from streams.settings import Settings
from streams.worker import Worker
from tests.integration.pipeline import (
    expected,
    expected_breaches,
    kill,
    lake_breaches,
    lake_rows,
    lines,
    population,
    start_worker,
    time_moves_on,
    wait_for_lake,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def events():
    return population(20_000)


def test_touches_land_exactly_once_and_journeys_equal_the_batch_stitch(events, fresh_broker, tmp_path):
    events = time_moves_on(events)
    valid, malformed, journey_rows = expected(events)
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        counts = wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    assert counts["touches"] == valid
    assert counts["dead_letters"] == malformed
    assert lake_rows(settings.lake) == journey_rows
    breaches = expected_breaches(events)
    assert len(breaches) > 20
    deadline = time.monotonic() + 60  # a breach row may still be updated in place (a late answer) after counts settle
    while lake_breaches(settings.lake) != breaches and time.monotonic() < deadline:
        time.sleep(0.5)
    assert lake_breaches(settings.lake) == breaches
    _, reasons = query(settings.catalog, "select count(*) filter (where reason is null or reason = ''), "
                                         "count(*) from dead_letters")
    assert reasons == [(0, malformed)]
    _, journeys = query(settings.catalog, "select count(*) from journey_touches")
    assert journeys == [(len(journey_rows),)]


def test_sigkill_mid_stream_and_restart_leaves_the_same_lake(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    records = lines(events)
    third = len(records) // 3
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
    try:
        produce_raw(records[:third], fresh_broker.bootstrap)
        deadline = time.monotonic() + 60
        while not Lake(lake).files("journey_touches") and time.monotonic() < deadline:
            time.sleep(0.01)
        produce_raw(records[third:2 * third], fresh_broker.bootstrap)
        time.sleep(0.3)
        kill(worker)  # mid-stream: some batches landed, some processed but not committed
        produce_raw(records[2 * third:], fresh_broker.bootstrap)
        worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows))
    finally:
        kill(worker)
    assert re.search(r"took up partition \d+ at offset [1-9]", log.read_text()), "the restart found no saved state"
    assert counts["touches"] == valid
    assert counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows
