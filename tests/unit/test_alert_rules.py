"""The alert rules file: refused with its line when wrong; rules raise stable alerts for what they are on; a
HubSpot task is found again by its alert id."""

from __future__ import annotations

import json

import pytest

from schemas.alert_rules import AlertRulesError, parse_rules
from transforms.alert_messages import hubspot_task_found, hubspot_task_request, hubspot_task_search_request
from transforms.alerts import alerts_of

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GOOD = f"""
[[destination]]
name = "revops"
kind = "webhook"
url = "https://hooks.example.com/touchline"
secret = "{SECRET}"

[[destination]]
name = "sdr-channel"
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/x"

[[rule]]
on = "sla_breach"
to = ["revops", "sdr-channel"]

[[rule]]
on = "stage_change"
to_stage = "close"
min_amount = 10000
to = ["revops"]
"""
BREACH = {"lead_event_id": "lead-1", "account_id": "acme", "journey_id": "jrn_x", "lead_at": "2026-03-02T09:00:00Z",
          "due_at": "2026-03-03T09:00:00Z", "detected_at": "2026-03-03T09:00:00Z", "lead_sla_hours": 24.0,
          "answered_at": None, "answer_event_id": None, "response_hours": None}


def refused(text: str) -> str:
    with pytest.raises(AlertRulesError) as error:
        parse_rules(text, "rules.toml")
    return str(error.value)


def test_a_typo_in_a_key_is_refused_with_its_line():
    assert refused(GOOD.replace('to = ["revops", "sdr-channel"]', 'too = ["revops"]')) \
        == "rules.toml:15: rule.0.too: unknown key"


def test_an_unknown_destination_is_refused_on_the_line_of_to():
    message = refused(GOOD.replace('to = ["revops"]\n', 'to = ["revop"]\n'))
    assert message.startswith("rules.toml:21: rule.1.to: unknown destination 'revop'")


def test_a_bad_url_and_a_bad_secret_are_refused_on_their_lines():
    assert refused(GOOD.replace("https://hooks.example.com/touchline", "hooks example")).startswith(
        "rules.toml:5: destination.0.url:")
    assert refused(GOOD.replace(SECRET, "not-a-secret")).startswith("rules.toml:6: destination.0.secret:")


def test_a_breach_rule_cannot_filter_on_what_breaches_do_not_carry():
    message = refused(GOOD.replace('on = "sla_breach"', 'on = "sla_breach"\nmin_amount = 1000'))
    assert message.startswith("rules.toml:13: rule.0:") and "carry no min_amount" in message
    parse_rules(GOOD.replace('on = "sla_breach"', 'on = "sla_breach"\nchannel = "webinar"\nteam = "marketing"'))


def test_a_breach_raises_one_alert_per_destination_with_ids_stable_across_reads():
    rules = parse_rules(GOOD)
    first = alerts_of("breach", rules, BREACH, "http://dash")
    again = alerts_of("breach", rules, dict(BREACH), "http://dash")
    assert [(a.type, a.destination, a.lead_event_id) for a in first] == [
        ("sla_breach", "revops", "lead-1"), ("sla_breach", "sdr-channel", "lead-1")]
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert len({a.alert_id for a in first}) == 2
    assert first[0].link == "http://dash/accounts/acme"


def test_a_retraction_raises_a_resolved_follow_up_of_the_breach_alert():
    rules = parse_rules(GOOD)
    breach = alerts_of("breach", rules, BREACH, "http://dash")
    retracted = alerts_of("breach", rules, {"lead_event_id": "lead-1", "account_id": "acme", "retracted": True},
                          "http://dash")
    assert [(a.type, a.follows) for a in retracted] == [("resolved", a.alert_id) for a in breach]
    assert retracted[0].reason.startswith("retracted")


def test_a_stage_change_rule_wants_its_stage_and_amount():
    rules = parse_rules(GOOD)
    record = {"event_id": "opp-1", "source": "salesforce:org", "account_id": "acme", "from_stage": "engage",
              "to_stage": "close", "cause": "opportunity_created", "amount": 25000.0}
    assert [a.type for a in alerts_of("transition", rules, record, "http://dash")] == ["stage_change"]
    assert alerts_of("transition", rules, {**record, "amount": 500.0}, "http://dash") == []
    assert alerts_of("transition", rules, {**record, "to_stage": "grow"}, "http://dash") == []


def test_a_hubspot_task_search_finds_only_the_task_naming_the_whole_alert_id():
    first, other = alerts_of("breach", parse_rules(GOOD), BREACH, "http://dash")
    search = json.loads(hubspot_task_search_request(first, "https://api.hubapi.com/", "tok").body)
    (rule,) = search["filterGroups"][0]["filters"]
    assert (rule["propertyName"], rule["operator"]) == ("hs_task_body", "CONTAINS_TOKEN")
    assert rule["value"] == "*" + first.alert_id.removeprefix("msg_")
    mine = hubspot_task_request(first, "https://api.hubapi.com", "tok")
    task = {"id": "1", "properties": json.loads(mine.body)["properties"]}
    assert hubspot_task_found(first, {"total": 1, "results": [task]})
    assert not hubspot_task_found(other, {"total": 1, "results": [task]})  # another alert's task
    assert not hubspot_task_found(first, {"total": 0, "results": []})
    with pytest.raises(ValueError, match="'results' is missing"):
        hubspot_task_found(first, {"status": "error"})
