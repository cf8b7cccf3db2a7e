import json
import math
from datetime import UTC, datetime

import pytest

from schemas.touch import SCHEMA_FILE, TouchEvent, json_schema, parse_touch, validate_touch
from tests.conftest import touch_payload

DEAL = {"event_type": "closed_won", "opportunity_id": "opp-1", "amount": 1000, "currency": "USD",
        "account_id": "acct-1"}

# (case, payload overrides, field that must be named)
BAD_INPUTS = [
    ("missing event_id", {"event_id": None}, "event_id"),
    ("empty event_id", {"event_id": ""}, "event_id"),
    ("event_id over 128", {"event_id": "x" * 129}, "event_id"),
    ("event_id not a string", {"event_id": 42}, "event_id"),
    ("missing source", {"source": None}, "source"),
    ("empty source", {"source": ""}, "source"),
    ("missing event_type", {"event_type": None}, "event_type"),
    ("unknown event_type", {"event_type": "page_view"}, "event_type"),
    ("unknown team", {"team": "finance"}, "team"),
    ("unknown channel", {"channel": "tv"}, "channel"),
    ("missing occurred_at", {"occurred_at": None}, "occurred_at"),
    ("naive timestamp", {"occurred_at": "2026-03-01T09:30:00"}, "occurred_at"),
    ("date-only timestamp", {"occurred_at": "2026-03-01"}, "occurred_at"),
    ("epoch timestamp", {"occurred_at": 1767225600}, "occurred_at"),
    ("garbage timestamp", {"occurred_at": "yesterday"}, "occurred_at"),
    ("impossible date", {"occurred_at": "2026-02-30T09:30:00Z"}, "occurred_at"),
    ("naive received_at", {"received_at": "2026-03-01 09:30:00"}, "received_at"),
    ("no identifier at all", {"anonymous_id": None}, "identifiers"),
    ("empty anonymous_id", {"anonymous_id": ""}, "anonymous_id"),
    ("malformed email", {"email": "bob-at-acme.com"}, "email"),
    ("email with spaces", {"email": "bob smith@acme.com"}, "email"),
    ("malformed account_domain", {"account_domain": "http://acme.com/"}, "account_domain"),
    ("user_id not a string", {"user_id": 7}, "user_id"),
    ("deal without opportunity_id", {**DEAL, "opportunity_id": None}, "opportunity_id"),
    ("deal without amount", {**DEAL, "amount": None}, "amount"),
    ("deal without currency", {**DEAL, "currency": None}, "currency"),
    ("opportunity_created without amount", {**DEAL, "event_type": "opportunity_created",
                                            "amount": None}, "amount"),
    ("renewal without opportunity_id", {**DEAL, "event_type": "renewal", "opportunity_id": None},
     "opportunity_id"),
    ("negative amount", {**DEAL, "amount": -5}, "amount"),
    ("NaN amount", {**DEAL, "amount": math.nan}, "amount"),
    ("infinite amount", {**DEAL, "amount": math.inf}, "amount"),
    ("amount as string", {**DEAL, "amount": "1000"}, "amount"),
    ("amount as boolean", {**DEAL, "amount": True}, "amount"),
    ("lower-case currency", {**DEAL, "currency": "usd"}, "currency"),
    ("unknown currency", {**DEAL, "currency": "XYZ"}, "currency"),
    ("properties not an object", {"properties": ["a"]}, "properties"),
    ("utm not an object", {"utm": "utm_source=google"}, "utm"),
    ("utm value not a string", {"utm": {"source": 3}}, "utm.source"),
    ("unknown field", {"evnt_type": "form_fill"}, "evnt_type"),
    ("bad precision", {"occurred_at_precision": "hour"}, "occurred_at_precision"),
]


@pytest.mark.parametrize(("case", "overrides", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_rejected_naming_the_field(case, overrides, field):
    result = validate_touch(touch_payload(**overrides))
    assert isinstance(result, list), f"{case} was accepted"
    assert field in [e.field for e in result], f"{case}: {result}"
    assert all(e.problem for e in result)


def test_there_are_at_least_thirty_bad_inputs():
    assert len(BAD_INPUTS) >= 30


@pytest.mark.parametrize(("raw", "problem"), [
    (b"not json", "not valid JSON"),
    (b'{"event_id": "x"', "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"a string"', "must be a JSON object"),
    (b'{"event_id": "\xff\xfe"}', "not valid UTF-8"),
])
def test_payloads_that_are_not_json_objects_are_rejected_as_a_whole(raw, problem):
    result = parse_touch(raw)
    assert isinstance(result, list)
    assert result[0].field == "$"
    assert problem in result[0].problem


@pytest.mark.parametrize("stamp", [
    "2026-03-01T11:30:00+02:00",
    "2026-03-01T09:30:00.123456Z",
    "2026-03-01T09:30:00.123456789Z",
    "2026-03-01t09:30:00z",
    "2026-03-01 09:30:00-00:00",
])
def test_rfc3339_timestamps_with_a_zone_are_accepted_and_normalised_to_utc(stamp):
    touch = validate_touch(touch_payload(occurred_at=stamp))
    assert isinstance(touch, TouchEvent), touch
    assert touch.occurred_at.utcoffset().total_seconds() == 0
    assert touch.occurred_at.replace(microsecond=0) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_offset_is_converted_not_dropped():
    touch = validate_touch(touch_payload(occurred_at="2026-03-01T11:30:00+02:00"))
    assert isinstance(touch, TouchEvent)
    assert touch.to_wire()["occurred_at"] == "2026-03-01T09:30:00Z"


def test_valid_deal_event_round_trips_through_the_wire_form():
    touch = validate_touch(touch_payload(**DEAL, properties={"deal": {"nested": [1, 2]}}))
    assert isinstance(touch, TouchEvent)
    again = parse_touch(json.dumps(touch.to_wire()))
    assert again == touch


def test_account_domain_is_normalised():
    touch = validate_touch(touch_payload(account_domain="WWW.Acme.com"))
    assert isinstance(touch, TouchEvent) and touch.account_domain == "acme.com"


def test_published_json_schema_matches_the_model():
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == json.loads(json.dumps(json_schema())), "run `make schema` and commit the file"


def test_json_schema_states_the_record_rules():
    schema = json_schema()
    assert {"required": ["email"]} in schema["anyOf"]
    assert schema["allOf"][0]["then"]["required"] == ["opportunity_id", "amount", "currency"]
    assert schema["additionalProperties"] is False
