"""The lake as Delta tables: each key once through readers other than ours, and no loss on a new broker."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from sinks.catalog import build
from sinks.lake import Lake
from sinks.tables import TABLES
from streams.runtime.broker import EmbeddedBroker
from streams.runtime.producing import produce_raw
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.faults.harness import landed_event_ids
from tests.integration.pipeline import expected, lake_rows, lines, population, wait_for_lake

pytestmark = pytest.mark.integration


def test_every_reader_sees_each_key_once_and_the_batch_rows(fresh_broker, tmp_path):
    events = population(4000, seed=41)  # with duplicates, late and out-of-order touches, malformed records
    assert any(e.duplicate for e in events) and any(e.malformed for e in events)
    valid, malformed, journey_rows = expected(events)
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings, processes=False).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        produce_raw(lines(events[: len(events) // 4]), fresh_broker.bootstrap)  # a client sending again
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    lake = Lake(settings.lake)
    assert lake_rows(settings.lake) == journey_rows  # equal to the batch engine's rows
    for name, spec in TABLES.items():
        key = list(spec.key)
        through_delta = DeltaTable(lake.uri(name)).to_pyarrow_table()
        through_polars = pl.read_delta(lake.uri(name))
        through_duckdb = duckdb.connect().execute(
            f"select count(*), count(distinct ({', '.join(key)})) from read_parquet(?)",
            [lake.files(name)]).fetchone() if lake.files(name) else (0, 0)
        keys = set(zip(*(through_delta[k].to_pylist() for k in key), strict=True))
        assert through_delta.num_rows == len(keys) == through_polars.height == through_polars.unique(key).height
        assert through_duckdb == (len(keys), len(keys)), name
    assert DeltaTable(lake.uri("touches")).to_pandas()["event_id"].is_unique


def _new_touches(prefix: str, count: int) -> list[bytes]:
    return [json.dumps({"event_id": f"{prefix}-{i}", "source": "segment:web", "event_type": "site_visit",
                        "occurred_at": "2026-11-20T10:00:00Z", "anonymous_id": f"anon-{prefix}-{i % 7}",
                        "account_id": f"acct-{i % 5}", "channel": "direct", "team": "marketing"}).encode()
            for i in range(count)]


def test_a_new_broker_on_the_same_lake_lands_every_new_touch(tmp_path, caplog):
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")
    first, second = _new_touches("first", 300), _new_touches("second", 40)
    with EmbeddedBroker() as broker:
        worker = Worker(broker.bootstrap, settings, processes=False).start()
        try:
            produce_raw(first, broker.bootstrap)
            wait_for_lake(settings.lake, len(first), 0, len(first))
        finally:
            worker.close()
    # A new broker: its offsets start at 0 again, below what the lake landed from the old one.
    caplog.set_level("INFO", logger="streams.stages.land_journeys")
    with EmbeddedBroker() as broker:
        worker = Worker(broker.bootstrap, settings, processes=False).start()
        try:
            produce_raw(second, broker.bootstrap)
            wait_for_lake(settings.lake, len(first) + len(second), 0, len(first) + len(second))
        finally:
            worker.close()
    landed = landed_event_ids(settings.lake)
    assert sorted(landed) == sorted([f"first-{i}" for i in range(300)] + [f"second-{i}" for i in range(40)])
    assert "has nothing in the lake yet: landing it from its beginning" in caplog.text


def test_a_lake_of_the_layout_before_delta_is_adopted_with_the_latest_row_of_each_key(tmp_path):
    # The layout Touchline wrote before its tables were Delta tables: every version of a key, with the
    # Kafka coordinates that ordered them, and manifests of the offsets landed.
    day = tmp_path / "lake" / "touches" / "event_date=2026-03-01"
    day.mkdir(parents=True)
    spec = TABLES["touches"]
    versions = [("e1", "first", 0, 5), ("e1", "second", 0, 9), ("e2", "only", 1, 3)]
    for number, (event_id, channel, partition, offset) in enumerate(versions):
        row = {**spec.row({"event_id": event_id, "source": "web", "event_type": "site_visit", "channel": channel,
                           "occurred_at": "2026-03-01T10:00:00Z"}), "_partition": partition, "_offset": offset}
        del row["event_date"]
        pq.write_table(pa.Table.from_pylist([row], schema=spec.schema.append(pa.field("_partition", pa.int64()))
                                            .append(pa.field("_offset", pa.int64()))),
                       day / f"part-touches-valid-v1-{partition}-{number:012d}-{number:012d}.parquet")
    (tmp_path / "lake" / "_manifests" / "touches").mkdir(parents=True)
    lake = Lake(tmp_path / "lake")
    rows = pl.read_delta(lake.create("touches").table_uri).sort("event_id")
    assert rows["event_id"].to_list() == ["e1", "e2"] and rows["channel"].to_list() == ["second", "only"]
    assert "_offset" not in rows.columns and not (tmp_path / "lake" / "_manifests" / "touches").exists()
    assert len(lake.vacuum("touches", retention_hours=0)) == 3  # the old files, once vacuumed


def test_a_table_of_an_older_release_gains_the_new_columns_and_every_reader_reads_both(tmp_path):
    spec = TABLES["journey_touches"]
    old_fields = [field for field in spec.table_schema if field.name not in ("content_id", "disposition_reason",
                                                                             "disposition_note")]
    uri = str(tmp_path / "lake" / "journey_touches")
    DeltaTable.create(uri, pa.schema(old_fields), partition_by=["event_date"])
    old_row = {name: value for name, value in spec.row({"event_id": "old", "source": "web", "event_type": "form_fill",
                                                        "occurred_at": "2026-03-01T10:00:00Z"}).items()
               if name in pa.schema(old_fields).names}
    write_deltalake(uri, pa.Table.from_pylist([old_row], schema=pa.schema(old_fields)), mode="append")
    lake = Lake(tmp_path / "lake")
    assert lake.write(spec, [{"event_id": "new", "source": "web", "event_type": "form_fill",
                              "occurred_at": "2026-03-02T10:00:00Z", "content_id": "/whitepapers/roi"}]) == 1
    expected_rows = [("new", "/whitepapers/roi"), ("old", None)]
    assert sorted(pl.read_delta(uri).select("event_id", "content_id").rows()) == expected_rows
    connection = duckdb.connect()
    build(lake, connection)
    assert connection.sql("select event_id, content_id from stg_journey_touches order by 1").fetchall() == \
        expected_rows


def test_an_old_lake_whose_files_all_lack_a_new_column_reads_it_as_null(tmp_path):
    spec = TABLES["sla_breaches"]
    old_fields = [field for field in spec.table_schema if field.name in ("lead_event_id", "lead_at", "event_date")]
    uri = str(tmp_path / "lake" / "sla_breaches")
    DeltaTable.create(uri, pa.schema(old_fields), partition_by=["event_date"])
    write_deltalake(uri, pa.Table.from_pylist([{"lead_event_id": "l1", "lead_at": None, "event_date": None}],
                                              schema=pa.schema(old_fields)), mode="append")
    lake = Lake(tmp_path / "lake")
    lake.create("sla_breaches")  # what every writer does first
    connection = duckdb.connect()
    build(lake, connection)
    assert connection.sql("select lead_event_id, answered_at, response_hours from sla_breaches").fetchall() == [
        ("l1", None, None)]


def test_a_retracted_breach_leaves_the_table_in_the_same_commit_as_new_rows(tmp_path):
    lake = Lake(tmp_path / "lake")
    spec = TABLES["sla_breaches"]
    breach = {"lead_event_id": "l1", "account_id": "a", "lead_at": "2026-03-01T10:00:00Z",
              "due_at": "2026-03-02T10:00:00Z"}
    lake.write(spec, [breach, {**breach, "lead_event_id": "l2"}])
    version = lake.version("sla_breaches")
    lake.write(spec, [{"lead_event_id": "l1", "account_id": "a", "lead_at": "2026-03-01T10:00:00Z", "retracted": True},
                      {**breach, "lead_event_id": "l3"}], positions={"app": 7})
    assert lake.version("sla_breaches") == version + 1
    assert sorted(pl.read_delta(lake.uri("sla_breaches"))["lead_event_id"].to_list()) == ["l2", "l3"]
    assert lake.landed("sla_breaches", "app") == 7
    lake.write(spec, [{**breach, "lead_event_id": "l9", "retracted": True}])  # retracting what never landed
    assert sorted(pl.read_delta(lake.uri("sla_breaches"))["lead_event_id"].to_list()) == ["l2", "l3"]
