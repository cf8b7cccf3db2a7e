"""The streaming pipeline end to end on the embedded broker."""

import json
import os
import re
import threading
import time

import pytest

from sinks.lake import Lake
from sinks.query import query
from streams.runtime.producing import produce_raw
from streams.runtime.worker import Worker
from streams.settings import Settings
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
from transforms.generator import GeneratorSettings, generate

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
        # each stage process yields the CPU to the collector and the broker (settings.stage_niceness)
        niceness = [os.getpriority(os.PRIO_PROCESS, stage.pid) for stage in worker.threads]
    finally:
        worker.close()
    assert niceness == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + settings.stage_niceness)] * 3
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


def landed_touches(lake) -> int:
    files = Lake(lake).files("touches")
    return Lake(lake).connect().execute("select count(*) from read_parquet(?)", [files]).fetchone()[0] if files else 0


def produce_paced(records: list[bytes], bootstrap: str, chunk: int = 250, pause: float = 0.2) -> None:
    for start in range(0, len(records), chunk):
        produce_raw(records[start:start + chunk], bootstrap)
        time.sleep(pause)


def wait_for_landed_touches(lake, more_than: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while (landed := landed_touches(lake)) <= more_than and time.monotonic() < deadline:
        time.sleep(0.01)
    return landed


def test_sigkill_mid_stream_and_restart_leaves_the_same_lake(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    records = lines(events)
    two_thirds = 2 * len(records) // 3
    produced = expected(events[:two_thirds])[0]  # distinct valid touches among them
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
    try:
        # A first few touches land (the worker is up and landing); the rest of two thirds arrive over some
        # seconds, and the kill comes at the next landing while they still arrive: some batches landed, some
        # processed but not committed, some not yet read.
        produce_raw(records[:500], fresh_broker.bootstrap)
        first = wait_for_landed_touches(lake, more_than=0)
        rest = threading.Thread(target=produce_paced, args=(records[500:two_thirds], fresh_broker.bootstrap))
        rest.start()
        wait_for_landed_touches(lake, more_than=first)
        kill(worker)
        rest.join()
        at_kill = landed_touches(lake)
        assert 0 < at_kill < produced, (at_kill, produced)  # the kill came while the stream was under way
        produce_raw(records[two_thirds:], fresh_broker.bootstrap)
        worker = start_worker(fresh_broker.bootstrap, lake, catalog, log)
        counts = wait_for_lake(lake, valid, malformed, len(journey_rows))
    finally:
        kill(worker)
    assert re.search(r"took up partition \d+ at offset [1-9]", log.read_text()), "the restart found no saved state"
    assert counts["touches"] == valid
    assert counts["dead_letters"] == malformed
    assert lake_rows(lake) == journey_rows


def test_a_retry_that_arrives_before_its_original_is_replaced_by_it(fresh_broker, tmp_path):
    # A tracker's retries (received later, an earlier event time), each delivered just before its original:
    # the stream places the retry, then the original takes its place, as the batch rule says.
    generated = list(generate(GeneratorSettings(accounts=60, seed=3, resend_rate=1 / 12)))
    retries = {e.record["event_id"]: e for e in generated if e.duplicate}
    events = []
    for e in generated:
        if not e.duplicate:
            events += [retries[e.record["event_id"]], e] if e.record["event_id"] in retries else [e]
    events = time_moves_on(events)
    valid, malformed, journey_rows = expected(events)
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    assert len(retries) > 40
    assert lake_rows(settings.lake) == journey_rows
    store = Lake(settings.lake)
    landed = dict(store.connect().execute("select event_id, occurred_at from read_parquet(?)",
                                          [store.files("touches")]).fetchall())
    originals = {e.record["event_id"]: e.record["occurred_at"] for e in generated if not e.duplicate}
    assert {i: landed[i].isoformat().replace("+00:00", "Z") for i in retries} == {i: originals[i] for i in retries}
    assert lake_breaches(settings.lake) == expected_breaches(events)


def copies_landed(lake, table: str) -> list[tuple[str, str]]:
    store = Lake(lake)
    files = store.files(table)
    if not files:
        return []
    return [(event_id, occurred_at.isoformat()) for event_id, occurred_at in store.connect().execute(
        "select event_id, occurred_at from read_parquet(?) order by all", [files]).fetchall()]


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_original_landing_after_its_retry_on_another_utc_day_leaves_one_row_per_key(fresh_broker, tmp_path):
    def touch(event_id: str, account: str, occurred_at: str, received_at: str) -> bytes:
        return json.dumps({"event_id": event_id, "source": "segment:web", "event_type": "ad_click",
                           "account_id": account, "occurred_at": occurred_at, "received_at": received_at}).encode()

    retry = ("e1", "2026-03-03T00:10:00+00:00")  # the retry's clock: the next UTC day, received later
    original = ("e1", "2026-03-02T23:30:00+00:00")
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw([touch("e1", "acme", retry[1], "2026-03-03T00:10:05Z")], fresh_broker.bootstrap)
        wait_for(lambda: all(copies_landed(settings.lake, t) == [retry] for t in ("touches", "journey_touches")))
        for n in range(3):  # other touches land in between: the retry is long committed
            produce_raw([touch(f"other-{n}", f"acct-{n}", original[1], original[1])], fresh_broker.bootstrap)
            wait_for(lambda n=n: len(copies_landed(settings.lake, "touches")) == n + 2)
        versions = Lake(settings.lake).version("touches")
        produce_raw([touch("e1", "acme", original[1], "2026-03-02T23:30:01Z")], fresh_broker.bootstrap)
        wait_for(lambda: all(original in copies_landed(settings.lake, t) for t in ("touches", "journey_touches")))
        wait_for_lake(settings.lake, 4, 0, 4)
    finally:
        worker.close()
    assert versions >= 4  # the retry and each other touch in a landing of its own
    store = Lake(settings.lake)
    for table in ("touches", "journey_touches"):
        counts = store.connect().execute("select event_id, count(*) from read_parquet(?) group by all order by all",
                                         [store.files(table)]).fetchall()
        assert counts == [("e1", 1), ("other-0", 1), ("other-1", 1), ("other-2", 1)], table
        assert [row for row in copies_landed(settings.lake, table) if row[0] == "e1"] == [original], table
