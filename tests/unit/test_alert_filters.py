"""Every kind of rule (``on``) with every filter it may use: an alert for a record that passes, none for one that
does not; and a rule fires only on its own kind of record."""

from __future__ import annotations

import pytest

from schemas.alert_rules import parse_rules
from transforms.alerts import BREACH, TRANSITION, alerts_of

DESTINATION = """
[[destination]]
name = "sdr-emea"
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/x"
"""
LEAD = {"channel": "webinar", "campaign_id": "cmp-7", "team": "marketing", "crm_contact_id": "003C000001"}
#: An sla-breaches-v1 record (transforms.lead_sla.Breach.to_row) of an unanswered lead.
BREACH_RECORD = {"lead_event_id": "lead-1", "account_id": "acme", "journey_id": "jrn_x",
                 "lead_at": "2026-03-02T09:00:00Z", "due_at": "2026-03-03T09:00:00Z",
                 "detected_at": "2026-03-03T09:00:00Z", "lead_sla_hours": 24.0, "answered_at": None,
                 "answer_event_id": None, "response_hours": None, **LEAD}
#: journey-transitions-v1 records (transforms.types.JourneyTouch.transition_row), one per kind of rule.
TOUCH = {"event_id": "t-1", "source": "salesforce:00D", "account_id": "acme", "journey_id": "jrn_x", "cycle": 1,
         "transitioned_at": "2026-03-02T09:00:00Z", "is_reengagement": False, "is_lead_touch": False,
         "amount": 25000.0, "currency": "USD", "opportunity_id": None, **LEAD}
RECORDS = {
    "sla_breach": (BREACH, BREACH_RECORD),
    "lead": (TRANSITION, {**TOUCH, "from_stage": "find", "to_stage": "engage", "cause": "form_fill",
                          "is_lead_touch": True}),
    "stage_change": (TRANSITION, {**TOUCH, "from_stage": "engage", "to_stage": "close",
                                  "cause": "opportunity_created", "opportunity_id": "006A"}),
    "re_engagement": (TRANSITION, {**TOUCH, "from_stage": "find", "to_stage": "find", "cause": "site_visit",
                                   "is_reengagement": True}),
    "lead_verdict": (TRANSITION, {**TOUCH, "from_stage": "engage", "to_stage": "engage",
                                  "cause": "lead_rejected", "team": "sdr"}),
}
#: filter: (its TOML, the record field it reads, a value it lets through, one it stops)
FILTERS = {
    "channel": ('channel = ["webinar", "events"]', "channel", "webinar", "paid_search"),
    "team": ('team = "emea-marketing"', "team", "emea-marketing", "marketing"),
    "campaign": ('campaign = "cmp-7"', "campaign_id", "cmp-7", "cmp-8"),
    "account_ids": ('account_ids = ["acme", "initech"]', "account_id", "acme", "globex"),
    "min_amount": ("min_amount = 10000", "amount", 25000.0, 500.0),
}


def rules_for(on: str, *lines: str):
    extra = "\n".join(lines)
    to_stage = 'to_stage = "close"\n' if on == "stage_change" else ""
    return parse_rules(f'{DESTINATION}\n[[rule]]\non = "{on}"\n{to_stage}{extra}\nto = ["sdr-emea"]\n')


def raised(on: str, rules, record) -> list[str]:
    kind, _ = RECORDS[on]
    return [a.type for a in alerts_of(kind, rules, record, "http://dash")]


@pytest.mark.parametrize("on", list(RECORDS))
def test_a_rule_fires_on_its_own_kind_of_record_only(on):
    rules = rules_for(on)
    for other, (kind, record) in RECORDS.items():
        got = [a.type for a in alerts_of(kind, rules, record, "http://dash")]
        assert got == ([on] if other == on else []), other


# every pair but (sla_breach, min_amount): a lead has no amount, and the rules file refuses it (test_alert_rules)
@pytest.mark.parametrize(("on", "name"), [(on, name) for on in RECORDS for name in FILTERS
                                          if (on, name) != ("sla_breach", "min_amount")])
def test_each_filter_lets_through_what_it_names_and_stops_the_rest(on, name):
    line, field, passes, stops = FILTERS[name]
    rules = rules_for(on, line)
    _, record = RECORDS[on]
    assert raised(on, rules, {**record, field: passes}) == [on]
    assert raised(on, rules, {**record, field: stops}) == []
    if name != "account_ids":
        assert raised(on, rules, {**record, field: None}) == []  # a record without the field does not pass


def test_a_breach_rule_for_one_team_and_channel_alerts_on_that_teams_leads_only():
    rules = rules_for("sla_breach", 'team = "emea-marketing"', 'channel = "webinar"')
    assert raised("sla_breach", rules, {**BREACH_RECORD, "team": "emea-marketing"}) == ["sla_breach"]
    assert raised("sla_breach", rules, {**BREACH_RECORD, "team": "emea-marketing", "channel": "events"}) == []
    assert raised("sla_breach", rules, BREACH_RECORD) == []  # team marketing
