"""`touchline sync hubspot` against a local CRM v3 API (tests/hubspot_server.py): paging, cursors that move only
after what they cover is acknowledged, searches past HubSpot's 10,000-result window, the same touches as an
export file, and a sync SIGKILLed mid-page and restarted that loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from streams import hubspot_sync, topics
from streams.commands import main
from streams.hubspot_api import HubspotApi
from streams.hubspot_objects import HubspotObjects
from streams.hubspot_sync import Cursors, HubspotSync
from streams.kafka_python_clients import make_consumer
from tests.hubspot_server import PORTAL, TOKEN, FakeHubspot, company, contact, deal

pytestmark = pytest.mark.integration


def at(minute: int) -> str:
    return f"2026-03-03T10:{minute:02d}:00.000Z"


def records() -> dict[str, list[dict]]:
    companies = [company(str(700 + n), f"c{n}.example") for n in range(1, 4)]
    for n, record in enumerate(companies):
        record["properties"]["hs_lastmodifieddate"] = at(n)
    contacts = [contact(str(200 + n), f"p{n}@c1.example", status="IN_PROGRESS" if n % 3 == 0 else None)
                for n in range(1, 11)]
    for n, record in enumerate(contacts):
        record["properties"]["lastmodifieddate"] = at(min(n, 8))  # the last two changed in the same instant
    deals = [deal(str(9000 + n), "closedwon" if n % 2 else "appointmentscheduled", company="701")
             for n in range(1, 8)]
    for n, record in enumerate(deals):
        record["properties"]["hs_lastmodifieddate"] = at(10 + n)
    return {"companies": companies, "contacts": contacts, "deals": deals}


@pytest.fixture
def hubspot():
    with FakeHubspot() as server:
        for path, found in records().items():
            for record in found:
                server.add(path, record)
        yield server


def imported(tmp_path) -> dict[bytes, dict]:
    """What `touchline import hubspot` makes of the same records as a v3 export."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"results": [r for found in records().values() for r in found]}))
    out = tmp_path / "imported.jsonl"
    result = CliRunner().invoke(main, ["import", "hubspot", str(export), "--source", f"hubspot:{PORTAL}",
                                       "--currency", "EUR", "--out", str(out)])
    assert result.exit_code == 0, result.output
    touches = [json.loads(line) for line in out.read_text().splitlines()]
    return {f"{t['source']}|{t['event_id']}".encode(): t for t in touches}


class Sent:
    def __init__(self, fail_on_flush: int | None = None) -> None:
        self.records: list[tuple[str, bytes, dict]] = []
        self.flushes, self.fail_on_flush = 0, fail_on_flush

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.records.append((topic, key, json.loads(value)))

    def flush(self) -> None:
        self.flushes += 1
        if self.flushes == self.fail_on_flush:
            raise RuntimeError("the broker did not acknowledge")


def syncer(server: FakeHubspot, lake, sent: Sent) -> HubspotSync:
    api = HubspotApi(server.url, TOKEN, backoff_seconds=0.05)
    return HubspotSync(HubspotObjects(api), Cursors(str(lake), PORTAL), PORTAL, sent.send, sent.flush)


def test_a_sync_pages_through_each_type_and_gives_the_touches_an_export_gives(hubspot, tmp_path):
    hubspot.page_cap = 3
    sent = Sent()
    sync = syncer(hubspot, tmp_path / "lake", sent)
    for path in ("companies", "contacts", "deals"):
        sync.sync(path)
    by_key = {key: value for topic, key, value in sent.records if topic == topics.TOUCHES_RAW}
    expected = imported(tmp_path)
    assert by_key == expected  # every touch, every field: deals in EUR, contacts' verdicts, companies' domains
    assert not [r for r in sent.records if r[0] == topics.TOUCHES_DLQ]
    cursors = Cursors(str(tmp_path / "lake"), PORTAL)
    assert [cursors.get(p) for p in ("companies", "contacts", "deals")] == [
        1772532120000, 1772532480000, 1772532960000]  # 10:02, 10:08, 10:16
    assert len([q for q in hubspot.searches if "after" in q]) == 0 + 3 + 2  # pages of 3: 3, 10 and 7 records

    again = Sent()
    syncer(hubspot, tmp_path / "lake", again).sync("contacts")  # nothing changed: the cursor's instant again
    assert {key for _, key, _ in again.records} <= set(expected)
    assert {v["crm_contact_id"] for _, _, v in again.records} == {"209", "210"}
    changed = hubspot.records["contacts"]["210"]
    changed["properties"] |= {"lastmodifieddate": at(30), "hs_lead_status": "UNQUALIFIED"}
    later = Sent()
    syncer(hubspot, tmp_path / "lake", later).sync("contacts")
    assert b"hubspot:62515|lead:210:status:unqualified" in {key for _, key, _ in later.records}
    assert cursors.get("contacts") == 1772533800000  # 10:30


def test_the_cursor_moves_only_after_a_page_is_acknowledged(hubspot, tmp_path):
    hubspot.page_cap = 4
    sent = Sent(fail_on_flush=2)
    with pytest.raises(RuntimeError, match="acknowledge"):
        syncer(hubspot, tmp_path / "lake", sent).sync("contacts")
    assert Cursors(str(tmp_path / "lake"), PORTAL).get("contacts") == 1772532180000  # page 1's newest, 10:03
    resumed = Sent()
    syncer(hubspot, tmp_path / "lake", resumed).sync("contacts")
    assert {v["crm_contact_id"] for _, _, v in resumed.records} == {str(200 + n) for n in range(4, 11)}


def test_a_backlog_past_the_search_window_is_read_as_several_searches(hubspot, tmp_path, monkeypatch):
    monkeypatch.setattr(hubspot_sync, "SEARCH_RESULTS", 6)  # HubSpot's 10,000, scaled to the fixture
    hubspot.page_cap = 3
    sent = Sent()
    syncer(hubspot, tmp_path / "lake", sent).sync("contacts")
    starts = [q["filterGroups"][0]["filters"][0]["value"] for q in hubspot.searches if "after" not in q]
    assert starts == ["0", "1772532300000"]  # the second from where the first got to (10:05)
    assert {v["crm_contact_id"] for _, _, v in sent.records} == {str(200 + n) for n in range(1, 11)}


def test_a_sync_killed_mid_page_and_restarted_loses_nothing(hubspot, kafka_bootstrap, tmp_path):
    hubspot.page_cap = 4
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "TOUCHLINE_HUBSPOT_TOKEN": TOKEN,
           "TOUCHLINE_HUBSPOT_API_URL": hubspot.url, "TOUCHLINE_LAKE": str(tmp_path / "lake"),
           "TOUCHLINE_CRM_CURRENCY": "EUR"}
    command = [sys.executable, "-m", "streams", "sync", "hubspot"]
    for reads in (2, 7, 13):  # killed at three points: in companies, in contacts, in deals
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hubspot.wait_for_reads(hubspot.read_count + reads)
        assert process.poll() is None  # killed mid-sync, not after it
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    consumer = make_consumer(kafka_bootstrap, topics.TOUCHES_RAW, group_id=None, consumer_timeout_ms=3000)
    landed = {record.key: json.loads(record.value) for record in consumer}
    consumer.close()
    assert landed == imported(tmp_path)  # every touch, each key (the pipeline keeps one row per key)
