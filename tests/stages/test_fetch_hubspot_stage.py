"""The hubspot stage with fake webhook records against a local CRM v3 API (tests/hubspot_server.py): the same
record through an export file and through a webhook is the same touch; 429, 5xx, 404 and a refused token."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from streams import topics
from streams.cli import main
from streams.crm.hubspot_api import HubspotApi, HubspotError
from streams.runtime.records import Record
from streams.runtime.state import StateStore
from streams.stages.fetch_hubspot import FetchHubspot
from tests.hubspot_server import PORTAL, TOKEN, FakeHubspot, company, contact, deal, engagement, event
from tests.stages.fakes import Emitted, make_record


@pytest.fixture
def hubspot():
    with FakeHubspot() as server:
        yield server


def stage(server: FakeHubspot, tmp_path, token: str = TOKEN) -> FetchHubspot:
    fetch = FetchHubspot(HubspotApi(server.url, token, backoff_seconds=0.05), currency="USD")
    fetch.open(0, StateStore(tmp_path / "db"))
    return fetch


def webhook(offset: int, *events_: dict) -> list[Record]:
    return [make_record(e, topic=topics.CRM_WEBHOOKS_RAW, offset=offset + n) for n, e in enumerate(events_)]


def run(fetch: FetchHubspot, messages: list[Record]) -> Emitted:
    emitted = Emitted()
    for message in messages:
        fetch.apply(0, message, emitted)
    return emitted


RECORDS = {
    "companies": [company("701", "acme.example")],
    "contacts": [contact("201", "ana@acme.example", status="IN_PROGRESS"), contact("202", "bo@acme.example")],
    "deals": [deal("9001", "closedwon", history=[("closedwon", "2026-03-20T12:00:00.000Z"),
                                                 ("appointmentscheduled", "2026-03-01T09:00:00.000Z")]),
              deal("9002")],
}


def test_the_same_records_by_export_file_and_by_webhook_are_the_same_touches(hubspot, tmp_path):
    for path, records in RECORDS.items():
        for record in records:
            hubspot.add(path, record)
    export = tmp_path / "hubspot_v3.json"  # a v3 export: the records as the v3 API lists them
    export.write_text(json.dumps({"results": [r for records in RECORDS.values() for r in records]}))
    out = tmp_path / "touches.jsonl"
    imported = CliRunner().invoke(main, ["import", "hubspot", str(export), "--source", f"hubspot:{PORTAL}",
                                         "--out", str(out)], env={"TOUCHLINE_CRM_CURRENCY": "USD"})
    assert imported.exit_code == 0, imported.output
    by_file = sorted((json.loads(line) for line in out.read_text().splitlines()), key=lambda t: t["event_id"])

    emitted = run(stage(hubspot, tmp_path), webhook(0, event(1, "company.creation", 701),
                                                    event(2, "contact.creation", 201),
                                                    event(3, "contact.propertyChange", 202, propertyName="email",
                                                          propertyValue="bo@acme.example"),
                                                    event(4, "deal.creation", 9001), event(5, "deal.creation", 9002)))
    by_webhook = sorted(emitted.values(topics.TOUCHES_RAW), key=lambda t: t["event_id"])
    assert [t["event_id"] for t in by_webhook] == [
        "9001:closed_won", "9001:created", "9002:created", "company:701", "contact:201", "contact:202",
        "lead:201:status:inprogress"]
    assert by_webhook == by_file  # every field, not only the keys
    assert {t["source"] for t in by_webhook} == {"hubspot:62515"}
    assert all(key.startswith(b"hubspot:62515|") for key, _ in emitted.by_topic[topics.TOUCHES_RAW])
    assert not emitted.by_topic[topics.TOUCHES_DLQ]


def test_generic_webhooks_of_calls_meetings_and_emails_are_read_and_converted(hubspot, tmp_path):
    # HubSpot's "Generic Webhook Subscriptions": object.creation with objectTypeId 0-48 (call), 0-47 (meeting),
    # 0-49 (email); a call without a title or direction is a call all the same, told by its object type
    hubspot.add("calls", engagement("calls", "40101", "2026-03-02T15:00:00.000Z"))
    hubspot.add("meetings", engagement("meetings", "50101", "2026-03-03T10:00:00.000Z", hs_meeting_title="Demo"))
    hubspot.add("emails", engagement("emails", "60102", "2026-03-04T10:00:00.000Z",
                                     hs_email_direction="INCOMING_EMAIL"))
    emitted = run(stage(hubspot, tmp_path), webhook(0, *(
        event(n, "object.creation", object_id, objectTypeId=type_id)
        for n, (object_id, type_id) in enumerate([(40101, "0-48"), (50101, "0-47"), (60102, "0-49"),
                                                  (70101, "0-46")]))))  # a note: no touch, not read
    assert sorted((t["event_id"], t["event_type"], t["account_id"], t["crm_contact_id"])
                  for t in emitted.values(topics.TOUCHES_RAW)) == [
        ("40101", "call", "701", "201"), ("50101", "meeting", "701", "201"), ("60102", "email_reply", "701", "201")]
    assert sorted(path for path, _, _ in hubspot.reads) == ["calls", "emails", "meetings"]
    assert not emitted.by_topic[topics.TOUCHES_DLQ]


def test_a_custom_pipelines_stage_change_and_close_follow_the_pipelines_metadata(hubspot, tmp_path):
    hubspot.add("deals", deal("9003", "1102", pipeline="7788", history=[
        ("1102", "2026-03-20T12:00:00.000Z"), ("1101", "2026-03-09T10:00:00.000Z"),
        ("appointmentscheduled", "2026-03-01T09:00:00.000Z")]))
    fetch = stage(hubspot, tmp_path)
    moved = event(7, "deal.propertyChange", 9003, propertyName="dealstage", propertyValue="1102")
    emitted = run(fetch, webhook(0, moved, moved, event(6, "deal.creation", 9003)))  # replayed, out of order
    assert sorted({(t["event_id"], t["event_type"]) for t in emitted.values(topics.TOUCHES_RAW)}) == [
        ("9003:closed_won", "closed_won"), ("9003:created", "opportunity_created"),
        ("9003:stage:1101:1773050400000", "opportunity_stage_changed")]
    assert len(emitted.values(topics.TOUCHES_RAW)) == 9  # each delivery re-emits the same 3: the resolve stage dedupes
    assert hubspot.pipeline_reads == 1


def test_a_429_waits_its_retry_after_and_a_502_is_retried(hubspot, tmp_path):
    hubspot.add("deals", deal("9004"))
    hubspot.throttled[("deals", "9004")] = 1
    hubspot.failing[("deals", "9004")] = 0
    emitted = run(stage(hubspot, tmp_path), webhook(0, event(8, "deal.creation", 9004)))
    reads = [at for path, object_id, at in hubspot.reads if object_id == "9004"]
    assert len(reads) == 2 and reads[1] - reads[0] >= 0.95  # Retry-After: 1
    assert [t["event_id"] for t in emitted.values(topics.TOUCHES_RAW)] == ["9004:created"]

    hubspot.add("contacts", contact("205", "cy@acme.example"))
    hubspot.failing[("contacts", "205")] = 2
    emitted = run(stage(hubspot, tmp_path / "2"), webhook(1, event(9, "contact.creation", 205)))
    assert [t["event_id"] for t in emitted.values(topics.TOUCHES_RAW)] == ["contact:205"]
    assert len([1 for _, object_id, _ in hubspot.reads if object_id == "205"]) == 3


def test_an_object_gone_or_unconvertible_is_a_dead_letter_with_its_reason_and_the_next_goes_on(hubspot, tmp_path):
    hubspot.add("deals", deal("9005"))
    broken = deal("9006")
    broken["properties"]["createdate"] = "soon"
    hubspot.add("deals", broken)
    hubspot.failing[("contacts", "206")] = 10  # more than the bounded retries
    fetch = stage(hubspot, tmp_path)
    emitted = run(fetch, webhook(0, event(10, "deal.creation", 404404), event(11, "deal.creation", 9006),
                                 event(12, "contact.creation", 206), event(13, "deal.deletion", 9005),
                                 event(14, "deal.creation", 9005)))
    reasons = [d["reason"] for d in emitted.values(topics.TOUCHES_DLQ)]
    assert len(reasons) == 3
    assert "deals 404404" in reasons[0] and "404" in reasons[0] and "Object not found" in reasons[0]
    assert reasons[1].startswith("deals/9006.createdate:")
    assert "contacts 206" in reasons[2] and "502" in reasons[2]
    assert [d["source_offset"] for d in emitted.values(topics.TOUCHES_DLQ)] == [0, 1, 2]
    assert [t["event_id"] for t in emitted.values(topics.TOUCHES_RAW)] == ["9005:created"]  # a deletion reads nothing


def test_a_refused_token_stops_the_stage_instead_of_dead_lettering_everything(hubspot, tmp_path):
    hubspot.add("deals", deal("9007"))
    with pytest.raises(HubspotError, match="401"):
        run(stage(hubspot, tmp_path, token="wrong"), webhook(0, event(15, "deal.creation", 9007)))
