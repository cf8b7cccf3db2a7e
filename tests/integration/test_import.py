"""`touchline import`: CRM exports through the pipeline, idempotently."""

import json
import os
import subprocess
import sys

import pytest

from sinks.lake import Lake
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.integration.pipeline import lake_rows, wait_for_lake
from transforms.settings import JourneySettings

pytestmark = pytest.mark.integration

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
EXPORTS = [os.path.join(DATA, "salesforce_tasks.csv"), os.path.join(DATA, "salesforce_opportunity_history.csv")]


def run_import(bootstrap, *options):
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": bootstrap}
    return subprocess.run([sys.executable, "-m", "streams", "import", "salesforce", *EXPORTS, *options], env=env,
                          capture_output=True, text=True, check=False)


def test_importing_the_same_salesforce_export_twice_changes_nothing(fresh_broker, tmp_path):
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings, processes=False).start()
    try:
        refused = run_import(fresh_broker.bootstrap)  # one row of the tasks export is broken
        assert refused.returncode == 1 and "nothing imported: 1 invalid rows" in refused.stderr
        assert "salesforce_tasks.csv:5: ActivityDate:" in refused.stderr  # file, line and field
        done = run_import(fresh_broker.bootstrap, "--partial")
        assert done.returncode == 0, done.stderr
        assert "imported 5 touches, skipped 1, invalid 1" in done.stderr
        first = wait_for_lake(settings.lake, 5, 0, 5)
        rows = lake_rows(settings.lake)
        assert run_import(fresh_broker.bootstrap, "--partial").returncode == 0
        second = wait_for_lake(settings.lake, 5, 0, 5, settle=4.0)
    finally:
        worker.close()
    assert first == second
    assert lake_rows(settings.lake) == rows
    assert sorted(r[6] for r in rows) == ["close", "close", "engage", "engage", "grow"]


CRM = os.path.join(DATA, "crm")
CRM_EXPORTS = {  # system → the exports of one org, as the tools write them
    "salesforce": ["salesforce_opportunity_api.csv", "salesforce_tasks_classic.csv", "salesforce_events.csv",
                   "salesforce_contacts_report.csv", "salesforce_leads_report.csv",
                   "salesforce_lead_history_dataloader.csv"],
    "hubspot": ["hubspot_companies_export.csv", "hubspot_contacts_export.csv", "hubspot_calls_v3.json",
                "hubspot_deals_export.csv", "hubspot_contacts_lead_status.csv"],
}


def test_real_crm_export_shapes_land_and_the_stream_agrees_with_stitch(fresh_broker, tmp_path):
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": fresh_broker.bootstrap, "TOUCHLINE_CRM_CURRENCY": "USD",
           "TOUCHLINE_CRM_TIME_ZONE": "America/New_York"}
    files = []
    for system, names in CRM_EXPORTS.items():
        out = tmp_path / f"{system}.jsonl"
        command = [sys.executable, "-m", "streams", "import", system, *(os.path.join(CRM, n) for n in names)]
        done = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        files.append(out)
        streamed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert streamed.returncode == 0, streamed.stderr
    # a verdict in both a leads report and the lead's history is one touch (the same id from both)
    touches = len({(t["source"], t["event_id"]) for f in files for t in map(json.loads, f.read_text().splitlines())})
    assert touches == sum(len(f.read_text().splitlines()) for f in files) - 1
    stitched = tmp_path / "stitched.jsonl"
    done = subprocess.run([sys.executable, "-m", "streams", "stitch", *map(str, files), "-o", str(stitched),
                           "--allowed-lateness-hours", str(2 * 365 * 24)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    batch = [json.loads(line) for line in stitched.read_text().splitlines()]
    on_journeys = {(r["source"], r["event_id"]): (r["account_id"], r["stage"], r["cycle"], r["event_type"])
                   for r in batch if not r.get("is_unresolved")}
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    # History imported into the stream: placed by event time, as stitch places it, within a lateness of two years.
    history = JourneySettings(allowed_lateness_hours=2 * 365 * 24)
    worker = Worker(fresh_broker.bootstrap, settings, history, processes=False).start()
    try:
        wait_for_lake(settings.lake, touches, 0, len(on_journeys))
    finally:
        worker.close()
    lake = Lake(settings.lake)
    streamed = {(s, e): (a, stage, cycle, kind) for s, e, a, stage, cycle, kind in lake.connect().execute(
        "select source, event_id, account_id, stage, cycle, event_type from read_parquet(?)",
        [lake.files("journey_touches")]).fetchall()}
    assert streamed == on_journeys
    # The v3 call sits on its company's journey between the deal's creation and its win (UI export, New York time).
    assert streamed[("hubspot:import", "40101")][:2] == ("701", "close")
    # The call to a contact with a free-mail address and no company waits, in both engines.
    assert ("hubspot:import", "40102") not in streamed
    assert {kind for _, _, _, kind in streamed.values()} >= {"closed_won", "renewal", "call", "demo", "meeting",
                                                             "lead_accepted", "lead_disqualified", "lead_recycled"}
