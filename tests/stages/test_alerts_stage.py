"""The send-alerts stage with fake records on its real state store, against local receivers: signed webhooks
(verified by the reference ``standardwebhooks`` library), retries, failures, restarts, and Slack/CRM shapes."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from schemas.alert_rules import parse_rules
from streams import topics
from streams.runtime.state import StateStore
from streams.settings import Settings
from streams.stages.alert_delivery import Deliveries
from streams.stages.send_alerts import SendAlerts
from tests.stages.fakes import Emitted, make_record
from tests.stages.receivers import (
    HUBSPOT_OWNER,
    SALESFORCE_OWNER,
    HubSpotTasks,
    Receiver,
    hubspot_answer,
    salesforce_answer,
    wait_for,
)
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
    def __init__(self, tmp_path, rules_text: str, topic: str = topics.SLA_BREACHES, **settings) -> None:
        self.path, self.topic = tmp_path / "db", topic
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
        self.stage = SendAlerts(self.topic, self.rules, self.deliveries, self.settings.dashboard_url)
        self.stage.open(0, self.store)

    def stop(self) -> None:
        self.stage.close(0)
        self.deliveries.close()
        self.store.close()

    def send(self, record: dict) -> None:
        self.offset += 1
        self.stage.apply(0, make_record(record, topic=self.topic, offset=self.offset,
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


def generated_population():
    emitted = generate(GeneratorSettings(accounts=40, days=200, seed=11, free_mail_rate=0.0))
    return stitch([Touch.from_wire(e.record) for e in emitted if e.record is not None and not e.malformed])


def generated_breaches() -> list[dict]:
    return [breach.to_row() for breach in generated_population().breaches]


def generated_transitions() -> list[dict]:
    """The journey-transitions-v1 records the stitch stage emits for the population (its milestones)."""
    return [row.transition_row() for row in generated_population().rows if row.is_milestone]


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


def test_a_delivered_breach_alert_then_retracted_gets_a_resolved_follow_up_with_the_reason(tmp_path, receivers):
    hook = receivers()
    harness = Harness(tmp_path, rules_for(hook=hook.url))
    harness.send(BREACH)
    (breach_row,) = harness.settle(1).values()
    assert breach_row["status"] == "delivered"
    # the stream's retraction: a touch placed late showed the lead was answered in time
    harness.send({"lead_event_id": "lead-1", "account_id": "acme", "lead_at": BREACH["lead_at"], "retracted": True})
    rows = harness.settle(2)
    verifier = Webhook(SECRET)
    first, resolved = (verifier.verify(body, headers) for _, _, headers, body in hook.requests)
    assert (first["type"], resolved["type"]) == ("sla_breach", "resolved")
    assert {k: resolved["data"][k] for k in ("lead_event_id", "account_id")} == {"lead_event_id": "lead-1",
                                                                                 "account_id": "acme"}
    assert resolved["data"]["reason"].startswith("retracted") and resolved["data"]["follows"] == breach_row["alert_id"]
    follow_up = next(r for r in rows.values() if r["type"] == "resolved")
    assert (follow_up["status"], follow_up["follows"]) == ("delivered", breach_row["alert_id"])
    harness.send({"lead_event_id": "lead-1", "account_id": "acme", "retracted": True})  # a redelivery
    harness.settle(2)
    assert len(hook.requests) == 2
    harness.stop()


def test_a_resolved_follow_up_goes_only_where_the_breach_alert_was_delivered(tmp_path, receivers):
    up, down = receivers(), receivers((503,))
    harness = Harness(tmp_path, rules_for(hook=up.url, slack=down.url))
    harness.send(BREACH)
    rows = {r["destination"]: r for r in harness.settle(2).values()}
    assert (rows["hook"]["status"], rows["slack"]["status"]) == ("delivered", "failed")
    slack_tries = len(down.requests)
    harness.send({"lead_event_id": "lead-1", "account_id": "acme", "retracted": True})
    rows = harness.settle(3)
    resolved = [r for r in rows.values() if r["type"] == "resolved"]
    assert [r["destination"] for r in resolved] == ["hook"]
    assert [b["type"] for b in up.bodies()] == ["sla_breach", "resolved"]
    assert len(down.requests) == slack_tries  # the destination that never got the breach hears nothing of it
    harness.stop()


def test_breach_rules_filtered_by_team_and_channel_send_crm_tasks_tied_to_the_leads_contact(tmp_path, receivers):
    sf, hs = receivers((201,), answer=salesforce_answer), receivers((201,), answer=hubspot_answer)
    text = (f'[[destination]]\nname = "sf"\nkind = "salesforce_task"\nurl = "{sf.url}"\n\n'
            f'[[destination]]\nname = "hs"\nkind = "hubspot_task"\nurl = "{hs.url}"\n\n'
            '[[rule]]\non = "sla_breach"\nteam = "emea-marketing"\nchannel = ["webinar", "events"]\n'
            'to = ["sf", "hs"]\n')
    harness = Harness(tmp_path, text, salesforce_access_token="sf-token", hubspot_token="hs-token")
    lead = {"channel": "webinar", "campaign_id": "cmp-7", "team": "emea-marketing"}
    harness.send({**BREACH, **lead, "account_id": "0015g00000AbCdEAAV", "crm_contact_id": "0035g00000XyZaBAAV"})
    harness.send({**BREACH, **lead, "lead_event_id": "lead-2", "account_id": "9876543", "crm_contact_id": "51"})
    harness.send({**BREACH, **lead, "lead_event_id": "lead-3", "team": "us-marketing"})  # another team's lead
    harness.send({**BREACH, **lead, "lead_event_id": "lead-4", "channel": "paid_search"})  # another channel
    rows = harness.settle(4)
    assert sorted({r["lead_event_id"] for r in rows.values()}) == ["lead-1", "lead-2"]
    salesforce = {json.loads(body)["WhatId"]: json.loads(body) for _, _, _, body in sf.requests
                  if b"0015g00000AbCdEAAV" in body}
    assert salesforce["0015g00000AbCdEAAV"]["WhoId"] == "0035g00000XyZaBAAV"
    hubspot = next(json.loads(body) for _, _, _, body in hs.requests if b"lead-2" in body)
    assert {"to": {"id": "51"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]} \
        in hubspot["associations"]
    harness.stop()


def test_transition_rules_alert_on_the_generated_populations_milestones_they_name(tmp_path, receivers):
    hook = receivers()
    records = generated_transitions()
    text = (f'[[destination]]\nname = "hook"\nkind = "webhook"\nurl = "{hook.url}"\nsecret = "{SECRET}"\n\n'
            '[[rule]]\non = "lead"\nchannel = "webinar"\nto = ["hook"]\n\n'
            '[[rule]]\non = "stage_change"\nto_stage = "close"\nmin_amount = 30000\nto = ["hook"]\n\n'
            '[[rule]]\non = "re_engagement"\nto = ["hook"]\n\n'
            '[[rule]]\non = "lead_verdict"\nteam = "sdr"\nto = ["hook"]\n')
    harness = Harness(tmp_path, text, topic=topics.JOURNEY_TRANSITIONS)
    for record in records + records:  # every record read twice: a redelivery
        harness.send(record)
    expected = sorted(
        [("lead", r["event_id"]) for r in records if r["is_lead_touch"] and r["channel"] == "webinar"]
        + [("stage_change", r["event_id"]) for r in records
           if r["to_stage"] == "close" and r["from_stage"] != "close" and (r["amount"] or 0) >= 30000]
        + [("re_engagement", r["event_id"]) for r in records if r["is_reengagement"]]
        + [("lead_verdict", r["event_id"]) for r in records
           if r["cause"] in ("lead_accepted", "lead_rejected", "lead_recycled", "lead_disqualified")
           and r["team"] == "sdr"])
    assert {kind for kind, _ in expected} == {"lead", "stage_change", "re_engagement", "lead_verdict"}
    rows = harness.settle(len(expected))
    verifier = Webhook(SECRET)
    verified = [verifier.verify(body, headers) for _, _, headers, body in hook.requests]
    assert sorted((b["type"], b["data"]["event_id"]) for b in verified) == expected
    assert {r["status"] for r in rows.values()} == {"delivered"} and len(rows) == len(expected)
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
    assert task["OwnerId"] == SALESFORCE_OWNER  # the account's owner
    assert "lead-1" in task["Description"]
    method, path, headers, body = next(r for r in hs.requests if b"lead-2" in r[3])
    created = json.loads(body)
    assert (method, path, headers["Authorization"]) == ("POST", "/crm/v3/objects/tasks", "Bearer hs-token")
    assert created["properties"]["hs_task_status"] == "NOT_STARTED"
    assert created["properties"]["hubspot_owner_id"] == HUBSPOT_OWNER  # the company's owner
    assert created["associations"] == [{"to": {"id": "9876543"}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]
    harness.stop()


def test_crm_tasks_go_to_the_account_owner_looked_up_once_per_account(tmp_path, receivers):
    sf, hs = receivers((200,), answer=salesforce_answer), receivers((200,), answer=hubspot_answer)
    harness = Harness(tmp_path, rules_for(sf=sf.url, hs=hs.url), salesforce_access_token="sf-token",
                      hubspot_token="hs-token")
    for n in range(3):  # three leads of one Salesforce account, three of one HubSpot company
        harness.send({**BREACH, "lead_event_id": f"sf-lead-{n}", "account_id": "0015g00000AbCdEAAV"})
        harness.send({**BREACH, "lead_event_id": f"hs-lead-{n}", "account_id": "9876543"})
    harness.send({**BREACH, "lead_event_id": "domain-lead", "account_id": "acme.example"})  # neither CRM's id
    harness.settle(14)
    lookups = [(m, p, h["Authorization"]) for m, p, h, _ in sf.requests + hs.requests if m == "GET"]
    assert sorted(lookups) == [("GET", "/crm/v3/objects/companies/9876543", "Bearer hs-token"),
                               ("GET", "/services/data/v60.0/sobjects/Account/0015g00000AbCdEAAV", "Bearer sf-token")]
    tasks = [json.loads(body) for m, _, _, body in sf.requests if m == "PATCH"]
    assert len(tasks) == 7
    assert [t.get("OwnerId") for t in tasks if t.get("WhatId") == "0015g00000AbCdEAAV"] == [SALESFORCE_OWNER] * 3
    assert [t.get("OwnerId") for t in tasks if "WhatId" not in t] == [None] * 4  # no owner to look up
    created = [json.loads(body)["properties"] for m, _, _, body in hs.requests if m == "POST"]
    assert sorted(str(p.get("hubspot_owner_id")) for p in created) == sorted([HUBSPOT_OWNER] * 3 + ["None"] * 4)
    harness.stop()


def test_an_owner_lookup_that_fails_leaves_the_task_unassigned_and_is_tried_again(tmp_path, receivers):
    calls = {"GET": 0}

    def flaky(request, body):
        if request.method == "GET":
            calls["GET"] += 1
            if calls["GET"] == 1:
                return web.json_response([{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], status=503)
        return salesforce_answer(request, body)

    sf = receivers((200,), answer=flaky)
    harness = Harness(tmp_path, rules_for(sf=sf.url), salesforce_access_token="sf-token")
    harness.send({**BREACH, "lead_event_id": "lead-1", "account_id": "0015g00000AbCdEAAV"})
    harness.settle(1)
    harness.send({**BREACH, "lead_event_id": "lead-2", "account_id": "0015g00000AbCdEAAV"})
    rows = harness.settle(2)
    assert {r["status"] for r in rows.values()} == {"delivered"}
    tasks = [json.loads(body) for m, _, _, body in sf.requests if m == "PATCH"]
    assert [t.get("OwnerId") for t in tasks] == [None, SALESFORCE_OWNER]
    assert calls["GET"] == 2
    harness.stop()


def _task_calls(hs: Receiver) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _, _ in hs.requests if method == "POST"]


def test_a_hubspot_task_whose_answer_was_lost_is_found_on_the_retry_not_made_twice(tmp_path, receivers):
    portal = HubSpotTasks(lose_answer_of=("lead-1",), refuse_first=("lead-2",), late=5.0)
    hs = receivers((200,), answer=portal)
    harness = Harness(tmp_path, rules_for(hs=hs.url), hubspot_token="hs-token", timeout=1.0)
    harness.send({**BREACH, "account_id": "9876543"})  # made, answer lost: the try times out
    harness.send({**BREACH, "lead_event_id": "lead-2", "account_id": "9876543"})  # refused (503), nothing made
    harness.send({**BREACH, "lead_event_id": "lead-3", "account_id": "9876543"})  # made and answered
    rows = {r["lead_event_id"]: r for r in harness.settle(3).values()}
    assert {lead: (r["status"], r["attempts"]) for lead, r in rows.items()} == {
        "lead-1": ("delivered", 2), "lead-2": ("delivered", 2), "lead-3": ("delivered", 1)}
    bodies = [task["properties"]["hs_task_body"] for task in portal.tasks.values()]
    for lead in ("lead-1", "lead-2", "lead-3"):
        assert sum(lead in body and rows[lead]["alert_id"] in body for body in bodies) == 1, lead
    assert len(portal.tasks) == 3
    calls = _task_calls(hs)
    assert calls.count(("POST", "/crm/v3/objects/tasks/search")) == 2  # the retries only: a first try just creates
    assert calls.count(("POST", "/crm/v3/objects/tasks")) == 4  # lead-1 once, lead-2 twice (503, then made), lead-3
    harness.stop()


def test_a_hubspot_task_pending_at_a_stop_is_looked_for_before_the_resend_creates_it(tmp_path, receivers):
    portal = HubSpotTasks(lose_answer_of=("lead-1",), late=30.0)
    hs = receivers((200,), answer=portal)
    harness = Harness(tmp_path, rules_for(hs=hs.url), hubspot_token="hs-token", timeout=20.0)
    harness.send({**BREACH, "account_id": "9876543"})
    wait_for(lambda: len(portal.tasks) == 1)  # HubSpot made it; the stage still waits for the answer
    harness.stop()
    harness.start()  # the pending alert is sent again: HubSpot already has it
    (row,) = harness.settle(1).values()
    assert (row["status"], row["attempts"], row["http_status"]) == ("delivered", 1, 200)
    assert len(portal.tasks) == 1
    assert _task_calls(hs) == [("POST", "/crm/v3/objects/tasks"), ("POST", "/crm/v3/objects/tasks/search")]
    harness.stop()
