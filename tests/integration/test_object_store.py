"""The lake on object storage: every path that writes or reads it, against a real S3 API on 127.0.0.1 (moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sinks.lake import Lake
from sinks.tables import TABLES
from streams.runtime.producing import produce_raw
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.integration.pipeline import (
    attribution_totals,
    expected,
    lake_rows,
    lake_strings,
    lines,
    population,
    wait_for_lake,
)

pytestmark = pytest.mark.integration


def _touchline(*args: str) -> str:
    """Run a command as a user would, with the AWS variables of the environment; return what it printed."""
    done = subprocess.run([sys.executable, "-m", "streams", *args], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _stitched_locally(events, tmp_path):
    """The same touches through the batch engine into a lake on local disk."""
    raw = tmp_path / "touches.jsonl"
    raw.write_bytes(b"\n".join(lines(events)) + b"\n")
    local = tmp_path / "local"
    _touchline("stitch", str(raw), "--lake", str(local), "-o", os.devnull)
    return raw, local


def test_stream_to_an_s3_lake_then_attribute_query_and_dashboard(s3_bucket, fresh_broker, tmp_path):
    lake = f"{s3_bucket}/streamed"
    # Over 60 days: as many event dates (files) as a lake of two months, moto answering every request
    events = population(3000, seed=23, days=60)  # duplicates, late and out-of-order touches, malformed records
    valid, malformed, journey_rows = expected(events)
    catalog = tmp_path / "catalog.duckdb"
    settings = Settings(lake=lake, catalog=catalog, state_checkpoint_seconds=1.0)
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        produce_raw(lines(events[:500]), fresh_broker.bootstrap)  # a client sending again
        wait_for_lake(lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    assert lake_rows(lake) == journey_rows  # each key once, equal to the batch engine's rows
    storage = Lake(lake).storage
    assert storage.list("_state"), "the stages' durable state copies belong beside the lake, in the bucket"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["catalog.duckdb"]  # nothing landed on local disk

    _, local = _stitched_locally(events, tmp_path)
    assert attribution_totals(lake) == attribution_totals(local)
    # two months of touches: opportunities, their pipeline (few deals close that soon)
    asked = ("--model", "linear", "--conversion", "opportunity", "--format", "json")
    credited = _json_lines(_touchline("attribute", "--lake", lake, *asked))
    assert credited == _json_lines(_touchline("attribute", "--lake", str(local), *asked))
    assert round(sum(row["conversions"] for row in credited)) > 0 and sum(row["pipeline"] for row in credited) > 0

    # The worker's catalog names the files in the bucket; `touchline sql` reads them through DuckDB's httpfs.
    counted = _json_lines(_touchline("sql", "--catalog", str(catalog), "--format", "json",
                                    "select count(*) as n from journey_touches"))
    assert counted == [{"n": len(journey_rows)}]

    report = tmp_path / "report.html"
    _touchline("dashboard", "--lake", lake, "--out", str(report), "--accounts", "2")
    page = report.read_text()
    assert "Attribution" in page and page.count("<section") >= 5


def test_backfill_replay_compact_forget_and_vacuum_on_s3(s3_bucket, tmp_path):
    lake = f"{s3_bucket}/batch"
    events = population(2000, seed=29, days=60)
    _, _, journey_rows = expected(events)
    raw, _ = _stitched_locally(events, tmp_path)

    _touchline("backfill", "--input", str(raw), "--lake", lake)
    assert lake_rows(lake) == journey_rows
    before = attribution_totals(lake)
    _touchline("replay", "--lake", lake)
    store = Lake(lake)
    assert lake_rows(lake) == journey_rows
    assert [entry["operation"] for entry in store.table("journey_touches").history()][:2] == ["WRITE", "WRITE"]

    _touchline("compact", "--lake", lake)
    email = store.connect().execute("select email from read_parquet(?) where email is not null order by event_id "
                                    "limit 1", [store.files("touches")]).fetchone()[0]
    audit = json.loads(_touchline("forget", "--email", email, "--lake", lake, "--requested-by", "dpo@example.com"))
    assert audit["rows_changed"]["touches"] > 0 and email not in json.dumps(audit)
    assert email not in "\n".join(lake_strings(lake))  # no file of any version holds them
    assert attribution_totals(lake) == before  # not a touch or a cent lost
    assert (store.storage.read_bytes("_privacy", "audit.jsonl") or b"").count(b"\n") == 1

    _touchline("vacuum", "--lake", lake, "--retention-hours", "0")
    assert all(store.unreferenced(name) == [] for name in TABLES)
    assert lake_rows(lake) == journey_rows and attribution_totals(lake) == before
