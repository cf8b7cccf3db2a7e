"""`touchline sync hubspot` against a local CRM v3 API (tests/hubspot_server.py): paging by new searches from the
cursor (a record changed mid-sync loses none), cursors that move only after what they cover is acknowledged, the
same touches as an export file (engagements included), and a sync SIGKILLed mid-page and restarted that loses
nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from streams import topics
from streams.cli import main
from streams.crm.hubspot_api import HubspotApi
from streams.crm.hubspot_objects import HubspotObjects
from streams.crm.hubspot_sync import Cursors, HubspotSync
from streams.runtime.kafka_python_clients import make_consumer
from streams.services.sync import OBJECTS
from tests.hubspot_server import PORTAL, TOKEN, FakeHubspot, company, contact, deal, engagement

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
    calls = [engagement("calls", "40101", at(20), hs_call_title="Discovery call", hs_call_direction="OUTBOUND"),
             engagement("calls", "40102", at(21), contact="202", company=None, hs_call_title="Follow-up")]
    meetings = [engagement("meetings", "50101", at(22), hs_meeting_title="Demo",
                           hs_meeting_start_time="2026-03-03T10:22:00.000Z")]
    emails = [engagement("emails", "60101", at(23), hs_email_direction="EMAIL", hs_email_subject="Pricing"),
              engagement("emails", "60102", at(24), hs_email_direction="INCOMING_EMAIL",
                         hs_email_subject="Re: Pricing")]
    return {"companies": companies, "contacts": contacts, "deals": deals, "calls": calls, "meetings": meetings,
            "emails": emails}


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
    for path in OBJECTS:
        sync.sync(path)
    by_key = {key: value for topic, key, value in sent.records if topic == topics.TOUCHES_RAW}
    expected = imported(tmp_path)
    assert by_key == expected  # every touch, every field: deals in EUR, contacts' verdicts, companies' domains
    assert {v["event_type"] for v in by_key.values()} >= {"call", "meeting", "email_sent", "email_reply"}
    assert len(sent.records) == len(by_key)  # none produced twice, though each page's search repeats the last
    assert not [r for r in sent.records if r[0] == topics.TOUCHES_DLQ]
    cursors = Cursors(str(tmp_path / "lake"), PORTAL)
    assert [cursors.get(p) for p in ("companies", "contacts", "deals", "emails")] == [
        1772532120000, 1772532480000, 1772532960000, 1772533440000]  # 10:02, 10:08, 10:16, 10:24
    # pages of 3, each a new search from the newest change produced (10 contacts: 0-2, 2-4, 4-6, 6-8, 8)
    contact_starts = [q["filterGroups"][0]["filters"][0]["value"] for q in hubspot.searches
                      if q["filterGroups"][0]["filters"][0]["propertyName"] == "lastmodifieddate"]
    assert contact_starts == ["0", "1772532120000", "1772532240000", "1772532360000", "1772532480000"]
    assert not [q for q in hubspot.searches if "after" in q]  # no page had all its records at one instant

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


def test_a_record_changed_mid_sync_shifts_no_other_out_of_reach(hubspot, tmp_path):
    hubspot.page_cap = 3

    def edit(searches: int) -> None:
        if searches == 2:  # after the first page: 202, read on it, is changed and moves to the end
            hubspot.records["contacts"]["202"]["properties"] |= {"lastmodifieddate": at(40),
                                                                 "hs_lead_status": "UNQUALIFIED"}

    hubspot.before_search = edit
    sent = Sent()
    syncer(hubspot, tmp_path / "lake", sent).sync("contacts")
    read = [v["crm_contact_id"] for _, _, v in sent.records if v["event_type"] == "identify"]
    assert sorted(read) == sorted([str(200 + n) for n in range(1, 11)] + ["202"])  # every one; 202 twice
    assert b"hubspot:62515|lead:202:status:unqualified" in {key for _, key, _ in sent.records}


def test_records_changed_at_one_instant_are_paged_through_that_search(hubspot, tmp_path):
    hubspot.page_cap = 3
    for n in range(2, 11):  # 201 at 10:00, the nine others at 10:05
        hubspot.records["contacts"][str(200 + n)]["properties"]["lastmodifieddate"] = at(5)
    sent = Sent()
    syncer(hubspot, tmp_path / "lake", sent).sync("contacts")
    read = [v["crm_contact_id"] for _, _, v in sent.records if v["event_type"] == "identify"]
    assert sorted(read) == [str(200 + n) for n in range(1, 11)]  # each once
    assert [(q["filterGroups"][0]["filters"][0]["value"], q.get("after")) for q in hubspot.searches] == [
        ("0", None), ("1772532300000", None), ("1772532300000", "3"), ("1772532300000", "6")]


def test_a_stop_is_noticed_between_pages(hubspot, tmp_path):
    hubspot.page_cap = 3
    sent = Sent()
    sync = syncer(hubspot, tmp_path / "lake", sent)
    sync.stopped = lambda: sent.flushes >= 1
    sync.sync("contacts")
    assert len(hubspot.searches) == 1 and Cursors(str(tmp_path / "lake"), PORTAL).get("contacts") == 1772532120000


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
