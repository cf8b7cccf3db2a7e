"""`touchline import`: CRM exports through the pipeline, idempotently."""

import os
import subprocess
import sys

import pytest

from streams.settings import Settings
from streams.worker import Worker
from tests.integration.pipeline import lake_rows, wait_for_lake

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
