"""`touchline sync salesforce` against a local Salesforce-shaped org (tests/integration/salesforce_org.py)."""

import json
import os
import subprocess
import sys
import time

import pytest

from schemas.salesforce_records import OBJECTS_BY_NAME
from sinks.storage import Storage
from streams import topics
from streams.crm.salesforce_api import Credentials, SalesforceClient, SalesforceError
from streams.crm.salesforce_sync import Cursor, Cursors, SalesforceSync, soql
from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.librdkafka_clients import fast_producer
from streams.settings import Settings
from tests.integration.salesforce_org import SalesforceOrg, Serving, read_topic, sample_records, write_exports

pytestmark = pytest.mark.integration


def imported(records, tmp_path, source):
    """What `touchline import salesforce` makes of the same records exported by Data Loader: touch key → the
    touches of that key (two where two exports tell one fact: a lead's verdict, a deal's creation or close)."""
    paths = write_exports(records, tmp_path)
    out = tmp_path / "imported.jsonl"
    done = subprocess.run([sys.executable, "-m", "streams", "import", "salesforce", *map(str, paths),
                           "--source", source, "--currency", "USD", "--partial", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    touches = [json.loads(line) for line in out.read_text().splitlines()]
    keyed = {}
    for touch in touches:
        keyed.setdefault((touch["source"], touch["event_id"]), []).append(touch)
    return keyed


def test_a_synced_record_is_the_touch_its_export_imports_as(kafka_bootstrap, tmp_path):
    org_id = "00D000000000001AAA"
    source = f"salesforce:{org_id}"
    records = sample_records(org_id)
    serving = Serving(SalesforceOrg(org_id, records, page_size=2))
    try:
        client = SalesforceClient(serving.org.url, Credentials("token-0"))
        create_topics(kafka_bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1, Settings())
        sync = SalesforceSync(client, fast_producer(kafka_bootstrap, Settings()), Storage(tmp_path / "lake"),
                              client.organization_id(), currency="USD", say=lambda _: None)
        counts = sync.run_once()
        again = sync.run_once()
        queries = list(serving.org.soql)
    finally:
        serving.close()
    expected = imported(records, tmp_path, source)
    # 15 touches, 14 keys: LeadHistory's status change is the verdict the Lead's status already gave, and
    # OpportunityHistory's first and closing versions are the deal's creation and close the Opportunity gives
    assert len(expected) == 14 and sum(counts.values()) == 15
    assert set(again.values()) == {0}  # the cursors stand at the end: nothing is read twice
    synced = read_topic(kafka_bootstrap, topics.TOUCHES_RAW, source, lambda found: len(found) >= 15)
    assert len(synced) == 15
    assert {key.decode() for key, _ in synced} == {f"{s}|{e}" for s, e in expected}  # the export's keys, all
    for _, touch in synced:
        assert touch in expected[(touch["source"], touch["event_id"])]  # the very same touch as the import's
    kinds = {t["event_id"]: t["event_type"] for _, t in synced}
    # the first opportunity's first version is on the first page, its next ones on later pages
    assert kinds["008000000000003"] == "opportunity_stage_changed"
    assert kinds["006000000000001:created"] == "opportunity_created" and kinds["006000000000001:closed"] == "closed_won"
    assert kinds["006000000000003:closed"] == "closed_lost"
    assert kinds["contact-role:00K000000000001"] == "identify" and kinds["00v000000000001"] == "webinar_attended"
    letters = {v["source_topic"]: v["reason"] for _, v in
               read_topic(kafka_bootstrap, topics.TOUCHES_DLQ, source, lambda found: len(found) >= 2)}
    assert letters == {f"{source}/Task/00T000000000009": "ActivityDate: required field is missing",
                       f"{source}/Opportunity/006000000000002": "amount: required for opportunity_created events"}
    assert any("WHERE (SystemModstamp > 2026-01-25T09:00:00Z OR (SystemModstamp = 2026-01-25T09:00:00Z AND "
               "Id > '006000000000003'))" in q for q in queries)  # the second run starts after the cursor
    cursors = json.loads((tmp_path / "lake" / "_sync" / "salesforce" / f"{org_id}.json").read_text())
    assert cursors["objects"]["LeadHistory"] == {"at": "2026-01-06T11:00:00.000+0000", "id": "017000000000002"}


def test_an_expired_token_is_renewed_through_client_credentials_and_limits_are_waited_out():
    org = SalesforceOrg("00D000000000002AAA", sample_records("00D000000000002AAA"), page_size=2)
    serving = Serving(org)
    said = []
    try:
        client = SalesforceClient(org.url, Credentials("token-0", "connected-app", "s3cret"),
                                  backoff_seconds=0.01, say=said.append)
        first = next(client.pages("SELECT Id FROM Organization"))
        org.expire_tokens()  # the session times out: 401 INVALID_SESSION_ID
        org.limit_exceeded = 2  # then the org's API limit: 403 REQUEST_LIMIT_EXCEEDED, twice
        pages = list(client.pages("SELECT Id, SystemModstamp FROM Task ORDER BY SystemModstamp ASC, Id ASC"))
        assert client.renewals == 1 and client.token in org.valid_tokens
        org.expire_tokens()
        stale = SalesforceClient(org.url, Credentials("token-0"), say=said.append)
        with pytest.raises(SalesforceError, match=r"INVALID_SESSION_ID.*no client credentials"):
            stale.organization_id()
        wrong = SalesforceClient(org.url, Credentials(None, "connected-app", "wrong"), say=said.append)
        with pytest.raises(SalesforceError, match=r"client-credentials login refused.*invalid_client"):
            wrong.organization_id()
    finally:
        serving.close()
    assert first[0]["Id"] == "00D000000000002AAA"
    assert [r["Id"] for page in pages for r in page] == ["00T000000000002", "00T000000000001", "00T000000000009"]
    assert len(pages) == 2  # two pages, the second through nextRecordsUrl
    assert said[0].startswith("salesforce: session expired (INVALID_SESSION_ID)")
    assert [line for line in said if "REQUEST_LIMIT_EXCEEDED" in line] == [
        "salesforce: REQUEST_LIMIT_EXCEEDED on " + org.url + "/services/data/v60.0/query; waiting 0.01 s before "
        "trying again",
        "salesforce: REQUEST_LIMIT_EXCEEDED on " + org.url + "/services/data/v60.0/query; waiting 0.02 s before "
        "trying again"]


def test_the_cursor_query_reads_after_the_last_record_or_from_since():
    task = OBJECTS_BY_NAME["Task"]
    assert soql(task, ["Id", "WhoId"], None) == ("SELECT Id, WhoId, SystemModstamp FROM Task "
                                                 "ORDER BY SystemModstamp ASC, Id ASC")
    after = soql(task, ["Id"], Cursor("2026-01-05T10:00:00.000+0100", "00T000000000001"))
    assert "WHERE (SystemModstamp > 2026-01-05T09:00:00Z OR (SystemModstamp = 2026-01-05T09:00:00Z AND " \
           "Id > '00T000000000001'))" in after
    assert "WHERE SystemModstamp >= 2026-03-01T00:00:00Z " in soql(task, ["Id"], Cursor("2026-03-01"))
    with pytest.raises(SalesforceError, match="is not a Salesforce id"):
        soql(task, ["Id"], Cursor("2026-03-01T00:00:00Z", "x' OR Id != '"))


def test_cursors_live_beside_an_object_store_lake(s3_bucket):
    cursors = Cursors(Storage(f"{s3_bucket}/cursors"), "00D000000000005AAA")
    cursors.move("Task", Cursor("2026-01-05T10:00:00.000+0000", "00T000000000001"))
    cursors.move("Lead", Cursor("2026-01-06T10:00:00.000+0000", "00Q000000000001"))
    again = Cursors(Storage(f"{s3_bucket}/cursors"), "00D000000000005AAA")
    assert again.get("Task") == Cursor("2026-01-05T10:00:00.000+0000", "00T000000000001")
    assert again.get("Lead").id == "00Q000000000001" and again.get("Event") is None


def test_a_follower_picks_up_new_records_and_stops_on_sigterm(kafka_bootstrap, tmp_path):
    org_id = "00D000000000006AAA"
    records = sample_records(org_id)
    org = SalesforceOrg(org_id, records, page_size=2)
    serving = Serving(org)
    cursor_file = tmp_path / "lake" / "_sync" / "salesforce" / f"{org_id}.json"
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "token-0"}
    process = subprocess.Popen([sys.executable, "-m", "streams", "sync", "salesforce", "--instance-url", org.url,
                                "--lake", str(tmp_path / "lake"), "--follow", "--every", "1"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def event_cursor():
            return json.loads(cursor_file.read_text())["objects"].get("Event") if cursor_file.exists() else None

        assert wait_until(lambda: event_cursor() == {"at": "2026-01-09T09:00:00.000+0000", "id": "00U000000000001"})
        records["Event"].append({"Id": "00U000000000002", "WhoId": "003000000000001", "AccountId": "001000000000001",
                                 "Subject": "Pricing", "Type": "Meeting", "EventSubtype": "Event",
                                 "ActivityDate": "2026-02-02", "StartDateTime": "2026-02-02T10:00:00.000+0000",
                                 "IsAllDayEvent": False, "SystemModstamp": "2026-02-02T10:05:00.000+0000"})
        assert wait_until(lambda: (event_cursor() or {}).get("id") == "00U000000000002")
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        serving.close()
    assert process.returncode == 0, stderr
    runs = [line for line in stderr.splitlines() if line.startswith(f"salesforce:{org_id}: ")]
    assert [line.endswith("Event 1") for line in runs].count(True) == 2  # the first sync, and the one after
    landed = read_topic(kafka_bootstrap, topics.TOUCHES_RAW, f"salesforce:{org_id}",
                        lambda found: any(t["event_id"] == "00U000000000002" for _, t in found))
    assert any(t["event_id"] == "00U000000000002" and t["event_type"] == "meeting" for _, t in landed)


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
