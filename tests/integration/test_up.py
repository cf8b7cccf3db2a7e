"""`touchline up`: broker, worker, collector and dashboard on one machine, from one command."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from streams.runtime.broker import free_port
from streams.services.sync import followers
from streams.settings import Settings
from tests.faults.harness import landed_event_ids, page_call, post
from tests.hubspot_server import TOKEN, FakeHubspot, company

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_one_command_runs_the_pipeline_and_what_a_tracker_sends_reaches_the_dashboard(tmp_path):
    collector, dashboard = free_port(), free_port()
    hubspot = FakeHubspot().__enter__()  # configured: `up` follows `sync hubspot`
    hubspot.add("companies", company("701", "acme.example"))
    env = {name: value for name, value in os.environ.items()
           if name not in ("TOUCHLINE_KAFKA_BOOTSTRAP", "TOUCHLINE_WRITE_KEYS") and "SALESFORCE" not in name}
    env |= {"TOUCHLINE_HUBSPOT_TOKEN": TOKEN, "TOUCHLINE_HUBSPOT_API_URL": hubspot.url, "TOUCHLINE_CRM_CURRENCY": "EUR"}
    log = tmp_path / "up.log"
    process = subprocess.Popen([sys.executable, "-m", "streams", "up", "--lake", str(tmp_path / "lake"),
                                "--catalog", str(tmp_path / "c.duckdb"), "--collector-port", str(collector),
                                "--dashboard-port", str(dashboard)], env=env, stdout=subprocess.DEVNULL,
                               stderr=log.open("wb"))
    try:
        deadline, key = time.monotonic() + 120, None
        while time.monotonic() < deadline and not (key and "dashboard on" in log.read_text()):
            assert process.poll() is None, log.read_text()
            found = re.search(r"write key for source segment:web .*: (\S+)", log.read_text())
            key = found.group(1) if found else None
            time.sleep(0.2)
        assert key, log.read_text()
        calls = [page_call(f"m-{i}", f"anon-{i:02d}") for i in range(5)]
        assert post("/v1/batch", {"batch": calls}, collector, key=key)[0] == 200
        assert post("/v1/batch", {"batch": calls}, collector, key="not-the-key")[0] == 401
        while time.monotonic() < deadline and len(landed_event_ids(tmp_path / "lake")) < 6:
            time.sleep(0.5)
        assert sorted(landed_event_ids(tmp_path / "lake"))[0] == "company:701"  # synced from HubSpot
        assert len(landed_event_ids(tmp_path / "lake")) == 6
        status, page = _get(dashboard, "/")
        assert status == 200 and "live" in page
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        hubspot.__exit__()
    assert process.returncode == 0, log.read_text()[-3000:]
    assert "hubspot:62515: 1 records read" in log.read_text()  # the follower's pass, then its clean stop


def test_up_follows_the_crm_syncs_that_are_configured():
    assert followers(Settings(lake="/l")) == []
    assert followers(Settings(lake="/l", salesforce_instance_url="https://a.my.salesforce.com")) == []  # no auth
    assert followers(Settings(lake="/l", salesforce_instance_url="https://a.my.salesforce.com",
                              salesforce_client_id="id", salesforce_client_secret="s", hubspot_token="t")) == [
        ["sync", "salesforce", "--follow", "--instance-url", "https://a.my.salesforce.com", "--lake", "/l"],
        ["sync", "hubspot", "--follow", "--lake", "/l"]]
    assert followers(Settings(lake="/l", salesforce_instance_url="https://a", salesforce_access_token="t"))[0][1] == \
        "salesforce"


def test_a_collector_with_no_pipeline_to_send_to_refuses_to_start():
    env = {name: value for name, value in os.environ.items() if name != "TOUCHLINE_KAFKA_BOOTSTRAP"}
    env["TOUCHLINE_WRITE_KEYS"] = "segment:web=" + "0" * 64
    done = subprocess.run([sys.executable, "-m", "streams", "collector"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "touchline up" in done.stderr
