"""The stitch stage's lead SLA watch on its real state store: one account's clock running ahead flags nobody."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streams import topics
from streams.agents.stitch_journeys import StitchJourneys
from streams.state import Position, StateStore
from transforms.settings import JourneySettings
from transforms.types import Touch

LEAD_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Record:
    def __init__(self, account: str, touch: Touch) -> None:
        self._value = json.dumps({"account_id": account, "touch": touch.to_wire()}, default=str).encode()

    def value(self) -> bytes:
        return self._value


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
        stage.apply(0, Record(account, touch(event_id, event_type, LEAD_AT + timedelta(hours=hours), account)), emit)

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
