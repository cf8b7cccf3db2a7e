"""The send-alerts stage with fake records on its real state store, against local receivers: signed webhooks
(verified by the reference ``standardwebhooks`` library), retries, failures, restarts, and Slack/CRM shapes."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from schemas.alert_rules import parse_rules
from streams import topics
from streams.agents.send_alerts import SendAlerts
from streams.alert_delivery import Deliveries
from streams.settings import Settings
from streams.state import StateStore
from tests.stages.fakes import Emitted, FakeMessage
from tests.stages.receivers import Receiver, hubspot_answer, salesforce_answer, wait_for
from transforms.generator import GeneratorSettings, generate
from transforms.stitching import stitch
from transforms.types import Touch

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BREACH = {"lead_event_id": "lead-1", "account_id": "acme", "journey_id": "jrn_x", "lead_at": "2026-03-02T09:00:00Z",
          "due_at": "2026-03-03T09:00:00Z", "detected_at": "2026-03-03T09:00:00Z", "lead_sla_hours": 24.0,
          "answered_at": None, "answer_event_id": None, "response_hours": None}


def rules_for(**urls: str) -> str:
    kinds = {"hook": "webhook", "slow": "webhook", "slack": "slack", "sf": "salesforce_task", "hs": "hubspot_task"}
    text = ""
    for name, url in urls.items():
        text += f'[[destination]]\nname = "{name}"\nkind = "{kinds[name]}"\nurl = "{url}"\n'
        text += f'secret = "{SECRET}"\n\n' if kinds[name] == "webhook" else "\n"
    return text + f'[[rule]]\non = "sla_breach"\nto = {list(urls)}\n'.replace("'", '"')


class Harness:
    def __init__(self, tmp_path, rules_text: str, **settings) -> None:
        self.path = tmp_path / "db"
        self.rules = parse_rules(rules_text)
        self.settings = Settings(lake=str(tmp_path / "lake"), alert_retry_seconds=0.05, alert_max_attempts=3,
                                 alert_timeout_seconds=settings.pop("timeout", 5.0), dashboard_url="http://dash",
                                 **settings)
        self.emitted = Emitted()
        self.offset = 0
        self.start()

    def start(self) -> None:
        self.store = StateStore(self.path)
        self.deliveries = Deliveries(self.settings, self.rules)
        self.stage = SendAlerts(topics.SLA_BREACHES, self.rules, self.deliveries, self.settings.dashboard_url)
        self.stage.open(0, self.store)

    def stop(self) -> None:
        self.stage.close(0)
        self.deliveries.close()
        self.store.close()

    def send(self, record: dict) -> None:
        self.offset += 1
        self.stage.apply(0, FakeMessage(record, topic=topics.SLA_BREACHES, offset=self.offset,
                                        timestamp_ms=int(time.time() * 1000)), self.emitted)

    def statuses(self) -> dict[str, dict]:
        """The latest alerts-v1 row per alert."""
        return {row["alert_id"]: row for row in self.emitted.values(topics.ALERTS)}

    def settle(self, count: int, timeout: float = 15.0) -> dict[str, dict]:
        wait_for(lambda: sum(r["status"] != "pending" for r in self.statuses().values()) >= count,
                 lambda: self.stage.tick(self.emitted), timeout)
        return self.statuses()


@pytest.fixture
def receivers():
    opened: list[Receiver] = []

    def open_one(*args, **kwargs) -> Receiver:
        opened.append(Receiver(*args, **kwargs))
        return opened[-1]

    yield open_one
    for receiver in opened:
        receiver.close()


def generated_breaches() -> list[dict]:
    emitted = generate(GeneratorSettings(accounts=40, days=200, seed=11, free_mail_rate=0.0))
    touches = [Touch.from_wire(e.record) for e in emitted if e.record is not None and not e.malformed]
    return [breach.to_row() for breach in stitch(touches).breaches]


def test_every_breach_row_of_a_generated_population_gets_exactly_one_signed_alert(tmp_path, receivers):
    hook = receivers()
    breaches = generated_breaches()
    assert len(breaches) >= 5  # the population has leads that waited
    harness = Harness(tmp_path, rules_for(hook=f"{hook.url}/touchline"))
    for breach in breaches + breaches:  # every record read twice: a redelivery
        harness.send(breach)
    rows = harness.settle(len(breaches))
    verifier = Webhook(SECRET)
    verified = [verifier.verify(body, headers) for _, _, headers, body in hook.requests]
    assert sorted(b["data"]["lead_event_id"] for b in verified) == sorted(b["lead_event_id"] for b in breaches)
    assert {b["type"] for b in verified} == {"sla_breach"}
    assert all(b["data"]["account_id"] and b["data"]["dashboard_url"].startswith("http://dash/accounts/")
               for b in verified)
    assert len({headers["webhook-id"] for _, _, headers, _ in hook.requests}) == len(breaches)
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("delivered", 1)}
    assert all(r["latency_seconds"] is not None and r["latency_seconds"] >= 0 for r in rows.values())
    harness.stop()


def test_a_receiver_answering_500_then_200_gets_the_alert_once_it_recovers(tmp_path, receivers):
    hook = receivers((500, 200))
    harness = Harness(tmp_path, rules_for(hook=hook.url))
    harness.send(BREACH)
    (row,) = harness.settle(1).values()
    assert (row["status"], row["attempts"], row["http_status"]) == ("delivered", 2, 200)
    ids = [headers["webhook-id"] for _, _, headers, _ in hook.requests]
    assert len(ids) == 2 and len(set(ids)) == 1  # the retry carries the same id
    harness.stop()


def test_a_receiver_that_never_recovers_ends_failed_and_429_honours_retry_after(tmp_path, receivers):
    down = receivers((503,))
    limited = receivers((429, 200), headers={"Retry-After": "1"})
    harness = Harness(tmp_path, rules_for(hook=down.url, slack=limited.url))
    harness.send(BREACH)
    rows = {r["destination"]: r for r in harness.settle(2).values()}
    assert (rows["hook"]["status"], rows["hook"]["attempts"], rows["hook"]["http_status"]) == ("failed", 3, 503)
    assert len(down.requests) == 3
    assert (rows["slack"]["status"], rows["slack"]["attempts"]) == ("delivered", 2)
    assert limited.times[1] - limited.times[0] >= 0.9  # Retry-After: 1, not the 0.05 s backoff
    harness.stop()


def test_a_restart_on_the_same_store_sends_nothing_twice_and_resends_what_was_pending(tmp_path, receivers):
    hook = receivers()
    harness = Harness(tmp_path, rules_for(hook=hook.url))
    harness.send(BREACH)
    harness.settle(1)
    harness.stop()
    harness.start()  # a restart: the same record read again
    harness.send(BREACH)
    harness.send({**BREACH, "lead_event_id": "lead-2"})
    harness.settle(2)
    assert [json["data"]["lead_event_id"] for json in hook.bodies()] == ["lead-1", "lead-2"]
    # an alert still pending at a stop is sent again when the partition is taken up, with the same id
    stuck = receivers(delay=30)
    harness.stop()
    harness = Harness(tmp_path / "second", rules_for(hook=stuck.url))
    harness.send(BREACH)
    wait_for(lambda: len(stuck.requests) == 1)
    harness.stop()
    harness.rules = parse_rules(rules_for(hook=hook.url))
    harness.start()
    wait_for(lambda: len(hook.requests) == 3)
    assert hook.requests[2][2]["webhook-id"] == stuck.requests[0][2]["webhook-id"]
    harness.stop()


def test_a_destination_that_times_out_blocks_neither_the_others_nor_the_stage(tmp_path, receivers):
    slow, fast = receivers(delay=30), receivers()
    harness = Harness(tmp_path, rules_for(slow=slow.url, hook=fast.url), timeout=2.0)
    began = time.monotonic()
    harness.send(BREACH)
    harness.send({**BREACH, "lead_event_id": "lead-2"})
    assert time.monotonic() - began < 1.0  # apply never waits on the network
    harness.settle(2)
    assert time.monotonic() - began < 2.0  # delivered while the slow one is still waiting
    assert sorted(j["data"]["lead_event_id"] for j in fast.bodies()) == ["lead-1", "lead-2"]
    rows = {(r["destination"], r["lead_event_id"]): r for r in harness.settle(4, timeout=30).values()}
    assert rows[("slow", "lead-1")]["status"] == "failed" and "Timeout" in rows[("slow", "lead-1")]["error"]
    harness.stop()


def test_an_answered_breach_resolves_where_the_breach_alert_went_and_a_retraction_too(tmp_path, receivers):
    hook = receivers()
    harness = Harness(tmp_path, rules_for(hook=hook.url))
    harness.send(BREACH)
    harness.settle(1)
    harness.send({**BREACH, "answered_at": "2026-03-03T12:00:00Z", "answer_event_id": "call-1",
                  "response_hours": 27.0})
    harness.send({"lead_event_id": "never-sent", "account_id": "acme", "retracted": True})
    harness.settle(2)
    first, resolved = hook.bodies()
    assert resolved["type"] == "resolved" and resolved["data"]["lead_event_id"] == "lead-1"
    assert resolved["data"]["account_id"] == "acme" and "answered" in resolved["data"]["reason"]
    assert resolved["data"]["follows"] == first["data"]["alert_id"]
    assert len(hook.requests) == 2  # nothing resolves a breach that was never announced
    harness.stop()


def test_slack_and_crm_destinations_get_their_documented_fields(tmp_path, receivers):
    slack, sf, hs = receivers(), receivers((201,), answer=salesforce_answer), receivers((201,), answer=hubspot_answer)
    harness = Harness(tmp_path, rules_for(slack=slack.url, sf=sf.url, hs=hs.url),
                      salesforce_access_token="sf-token", hubspot_token="hs-token")
    harness.send({**BREACH, "account_id": "0015g00000AbCdEAAV"})
    harness.send({**BREACH, "lead_event_id": "lead-2", "account_id": "9876543"})
    harness.settle(6)
    message = next(m for m in slack.bodies() if "lead-1" in m["text"])
    assert "lead-1" in message["text"] and "0015g00000AbCdEAAV" in message["text"]
    fields = " ".join(f["text"] for f in message["blocks"][1]["fields"])
    assert "*Lead*\nlead-1" in fields and "*Waited*\n24.0 h" in fields
    assert "http://dash/accounts/0015g00000AbCdEAAV" in message["blocks"][2]["text"]["text"]
    # (the two alerts go out concurrently: each request is found by what it is about)
    method, path, headers, body = next(r for r in sf.requests if b"lead-1" in r[3])
    task = json.loads(body)
    assert method == "PATCH" and path.startswith("/services/data/v60.0/sobjects/Task/Touchline_Alert_Id__c/msg_")
    assert headers["Authorization"] == "Bearer sf-token"
    assert task["WhatId"] == "0015g00000AbCdEAAV" and task["Status"] == "Not Started"
    assert "lead-1" in task["Description"]
    method, path, headers, body = next(r for r in hs.requests if b"lead-2" in r[3])
    created = json.loads(body)
    assert (method, path, headers["Authorization"]) == ("POST", "/crm/v3/objects/tasks", "Bearer hs-token")
    assert created["properties"]["hs_task_status"] == "NOT_STARTED"
    assert created["associations"] == [{"to": {"id": "9876543"}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]
    harness.stop()
