"""The stitch stage with fake records on its real state store: journey rows, repeats, late touches, and the lead
SLA watch (one account's clock running ahead flags nobody)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streams import topics
from streams.runtime.records import Record
from streams.runtime.state import Position, StateStore
from streams.stages.stitch_journeys import StitchJourneys
from tests.stages.fakes import Emitted, make_record
from transforms.settings import JourneySettings
from transforms.types import Touch

LEAD_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def record(account: str, touch: Touch) -> Record:
    return make_record({"account_id": account, "touch": touch.to_wire()}, topic=topics.TOUCHES_BY_ACCOUNT)


def touch(event_id: str, event_type: str, at: datetime, account: str) -> Touch:
    return Touch(event_id, "segment:web", event_type, at, account_id=account, team="marketing")


def test_a_device_ahead_flags_no_other_accounts_lead_until_two_accounts_reach_the_deadline(tmp_path):
    stage = StitchJourneys(JourneySettings(lead_sla_hours=24))
    store = StateStore(tmp_path / "db")
    stage.open(0, store)
    breaches: list[dict[str, object]] = []

    def emit(topic: str, key: bytes, value: bytes) -> None:
        if topic == topics.SLA_BREACHES:
            breaches.append(json.loads(value))

    def send(event_id: str, event_type: str, hours: float, account: str) -> None:
        stage.apply(0, record(account, touch(event_id, event_type, LEAD_AT + timedelta(hours=hours), account)), emit)

    send("lead-a", "form_fill", 0, "acct-a")
    send("visit-b", "site_visit", 1, "acct-b")
    send("ahead-c", "site_visit", 48, "acct-c")  # a device two days ahead
    assert breaches == []
    stage.save(0)
    store.checkpoint(Position("test", 3))
    stage.close(0)
    store.close()
    stage.open(0, StateStore(tmp_path / "db"))  # the clock survives a restart
    send("visit-b2", "site_visit", 23, "acct-b")
    assert breaches == []
    send("visit-b3", "site_visit", 25, "acct-b")  # a second account passes the deadline
    # the row is the data's (deadline passed, no answer), not the clock's: detected at the deadline
    assert [(b["lead_event_id"], b["account_id"], datetime.fromisoformat(b["detected_at"]), b["answered_at"])
            for b in breaches] == [("lead-a", "acct-a", LEAD_AT + timedelta(hours=24), None)]


def test_rows_for_each_touch_none_for_a_repeat_or_an_identity_call_and_a_late_touch_refolds(tmp_path):
    stage = StitchJourneys(JourneySettings())
    stage.open(0, StateStore(tmp_path / "db"))
    emitted = Emitted()
    visit = touch("visit", "site_visit", LEAD_AT, "acme")
    for sent in (visit, touch("fill", "form_fill", LEAD_AT + timedelta(hours=2), "acme"), visit,
                 touch("who", "identify", LEAD_AT + timedelta(hours=3), "acme")):
        stage.apply(0, record("acme", sent), emitted)
    rows = emitted.values(topics.JOURNEY_TOUCHES)
    assert [(r["event_id"], r["seq"], r["stage"], r["is_lead_touch"]) for r in rows] == [
        ("visit", 1, "find", False), ("fill", 2, "engage", True)]
    assert [(t["from_stage"], t["to_stage"]) for t in emitted.values(topics.JOURNEY_TRANSITIONS)] == [
        (None, "find"), ("find", "engage")]

    stage.apply(0, record("acme", touch("early", "ad_click", LEAD_AT + timedelta(hours=1), "acme")), emitted)
    refolded = emitted.values(topics.JOURNEY_TOUCHES)[2:]
    assert [(r["event_id"], r["seq"]) for r in refolded] == [("early", 2), ("fill", 3)]  # placed, then re-emitted
