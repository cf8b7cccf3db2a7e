"""HubSpot's live side, pure: the v3 webhook signature, webhook events, pipelines' closed stages, deals' stages."""

from __future__ import annotations

import json

from schemas import crm
from schemas.hubspot import (
    closed_stages,
    object_to_fetch,
    signature_problem,
    signature_v3,
    signed_uri,
    webhook_events,
    with_activity_type,
)
from schemas.touch import FieldError, TouchEvent

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # the placeholder secret of HubSpot's "Validating requests" examples
# The sample event body of HubSpot's "Validating requests" page (its v1 example).
BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
        b'"changeFlag":"NEW","appId":54321}]')
NOW = 1564113600000


def test_the_v3_signature_is_base64_hmac_sha256_over_method_uri_body_and_timestamp():
    # The v3 section of HubSpot's page publishes no test vector; this one was computed independently with
    # `printf '%s' 'POST<uri><body><timestamp>' | openssl dgst -sha256 -hmac <secret> -binary | base64`.
    uri = "https://hooks.example.com/hubspot/webhooks?portal=62515&tag=a:b"
    assert signature_v3(SECRET, "POST", uri, BODY, str(NOW)) == "wJ0zQGem6ooBkiok+brfvWn48zyKNOp/fsfJ0uOhl3I="
    # HubSpot signs the URI with the encodings of its table decoded: %3A is ':' (either case)
    assert signature_v3(SECRET, "POST", uri.replace("a:b", "a%3ab"), BODY, str(NOW)) == \
        "wJ0zQGem6ooBkiok+brfvWn48zyKNOp/fsfJ0uOhl3I="


def test_hubspots_published_v3_example_is_reproduced():
    # The v3 vector of HubSpot's own Python SDK tests (HubSpot/hubspot-api-python,
    # tests/spec/utils/test_signature.py, test_get_signature__v3); their Ruby SDK's tests hold the same.
    assert signature_v3("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST", "https://www.example.com/webhook_uri",
                        b"{'example_field':'example_value'}", "15000000") == \
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="


def test_only_the_listed_encodings_are_decoded_in_the_signed_uri():
    assert signed_uri("https://h/p?x=%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B") == "https://h/p?x=:/?@!$'()*,;"
    assert signed_uri("https://h/p?x=%20%26%3D%25") == "https://h/p?x=%20%26%3D%25"  # space, &, =, % stay encoded


def test_a_signature_is_refused_when_missing_stale_from_the_future_or_wrong():
    uri = "https://hooks.example.com/hubspot/webhooks"
    good = signature_v3(SECRET, "POST", uri, BODY, str(NOW))
    assert signature_problem(SECRET, "POST", uri, BODY, str(NOW), good, NOW + 299_000) is None
    assert "older than 5 minutes" in signature_problem(SECRET, "POST", uri, BODY, str(NOW), good, NOW + 300_001)
    assert "ahead" in signature_problem(SECRET, "POST", uri, BODY, str(NOW), good, NOW - 300_001)
    assert "missing" in signature_problem(SECRET, "POST", uri, BODY, None, good, NOW)
    assert "missing" in signature_problem(SECRET, "POST", uri, BODY, str(NOW), None, NOW)
    for timestamp in ("yesterday", "1\u00b2", "\u0661\u0665", "-1", " 1", "9" * 16):  # "1²".isdigit() holds
        assert "milliseconds" in signature_problem(SECRET, "POST", uri, BODY, timestamp, good, NOW)
    assert "does not match" in signature_problem("other-secret", "POST", uri, BODY, str(NOW), good, NOW)
    assert "does not match" in signature_problem(SECRET, "POST", uri, BODY + b" ", str(NOW), good, NOW)
    assert "does not match" in signature_problem(SECRET, "POST", uri + "?x", BODY, str(NOW), good, NOW)
    # the timestamp is signed: a replay with a fresh timestamp and the old signature fails
    assert "does not match" in signature_problem(SECRET, "POST", uri, BODY, str(NOW + 1), good, NOW)


def test_webhook_events_take_hubspots_array_and_older_payloads_event_type():
    events = webhook_events(BODY)
    assert isinstance(events, list) and events[0]["subscriptionType"] == "contact.creation"
    old = webhook_events(json.dumps([{"eventId": 7, "portalId": 1, "occurredAt": 2, "objectId": 3,
                                      "eventType": "deal.propertyChange", "propertyName": "dealstage",
                                      "propertyValue": "closedwon"}]).encode())
    assert old[0]["subscriptionType"] == "deal.propertyChange" and old[0]["propertyValue"] == "closedwon"
    association = webhook_events(json.dumps([{"eventId": 8, "portalId": 1, "occurredAt": 2,
                                              "subscriptionType": "contact.associationChange",
                                              "associationType": "CONTACT_TO_COMPANY", "fromObjectId": 51,
                                              "toObjectId": 701, "associationRemoved": False}]).encode())
    assert object_to_fetch(association[0]) == ("contacts", "51")


def test_a_malformed_body_names_its_first_problem():
    def problem(body: object) -> FieldError:
        found = webhook_events(body if isinstance(body, bytes) else json.dumps(body).encode())
        assert isinstance(found, FieldError)
        return found

    assert problem(b"{not json").field == "$"
    assert problem(b"\xff[]").field == "$"
    assert problem(b"[" * 100_000).field == "$"
    assert "4300 digits" in problem(b'[{"eventId": ' + b"9" * 5000 + b"}]").problem
    assert "array" in problem({"eventId": 1}).problem
    assert "at most 100" in problem([{}] * 101).problem
    assert problem([1]).field == "[0]"
    assert problem([{"eventId": 1, "portalId": 1, "occurredAt": 1, "objectId": 1}]).field == "[0].subscriptionType"
    assert problem([{"eventId": "1", "portalId": 1, "occurredAt": 1, "objectId": 1,
                     "subscriptionType": "deal.creation"}]) == FieldError("[0].eventId", "must be an integer, got str")
    assert problem([{"eventId": 1, "portalId": 1, "occurredAt": 1,
                     "subscriptionType": "deal.creation"}]).field == "[0].objectId"


def test_only_deals_contacts_and_companies_that_still_exist_are_read_again():
    def event(kind: str) -> dict[str, object]:
        return {"subscriptionType": kind, "objectId": 9}

    assert object_to_fetch(event("deal.creation")) == ("deals", "9")
    assert object_to_fetch(event("company.propertyChange")) == ("companies", "9")
    assert object_to_fetch(event("contact.merge")) == ("contacts", "9")
    assert object_to_fetch(event("deal.deletion")) is None
    assert object_to_fetch(event("contact.privacyDeletion")) is None
    assert object_to_fetch(event("ticket.creation")) is None
    # generic subscriptions ("Generic Webhook Subscriptions"): the type is objectTypeId's
    assert object_to_fetch({**event("object.creation"), "objectTypeId": "0-48"}) == ("calls", "9")
    assert object_to_fetch({**event("object.propertyChange"), "objectTypeId": "0-3"}) == ("deals", "9")
    assert object_to_fetch({**event("object.deletion"), "objectTypeId": "0-48"}) is None
    assert object_to_fetch({**event("object.creation"), "objectTypeId": "0-46"}) is None  # a note: no touch
    assert object_to_fetch(event("object.creation")) is None


def test_an_engagement_read_from_its_object_path_says_its_type():
    def kind(path: str, **properties: object) -> object:
        return with_activity_type(path, {"id": "1", "properties": properties})["properties"].get("hs_activity_type")

    assert kind("calls", hs_call_title=None) == "CALL" and kind("meetings") == "MEETING"
    assert kind("emails", hs_email_direction="EMAIL") == "EMAIL"
    assert kind("emails", hs_email_direction="INCOMING_EMAIL") == "INCOMING_EMAIL"
    assert kind("calls", hs_activity_type="MEETING") == "MEETING"  # what the record says stands
    assert kind("deals", dealstage="closedwon") is None
    call = crm.convert_hubspot([with_activity_type("calls", {"id": "7", "properties": {
        "hs_timestamp": "2026-03-02T15:00:00.000Z", "hs_call_title": None},
        "associations": {"contacts": {"results": [{"id": "201", "type": "call_to_contact"}]}}})], "hubspot:1")
    assert [t.event_type for t in call] == ["call"]  # without the object type: no field says it is a call


# "Pipelines API" (GET /crm/v3/pipelines/deals): stages carry metadata.isClosed and metadata.probability as strings.
PIPELINES = {"results": [
    {"id": "default", "label": "Sales Pipeline", "stages": [
        {"id": "appointmentscheduled", "metadata": {"isClosed": "false", "probability": "0.2"}},
        {"id": "closedwon", "metadata": {"isClosed": "true", "probability": "1.0"}},
        {"id": "closedlost", "metadata": {"isClosed": "true", "probability": "0.0"}}]},
    {"id": "7788", "label": "Renewals", "stages": [
        {"id": "1101", "metadata": {"isClosed": "false", "probability": "0.5"}},
        {"id": "1102", "metadata": {"isClosed": "true", "probability": "1.0"}},
        {"id": "1103", "metadata": {"isClosed": "true", "probability": "0.0"}}]}]}


def test_closed_stages_come_from_each_pipelines_metadata_custom_ones_included():
    assert closed_stages(PIPELINES) == {"closedwon": "closedwon", "closedlost": "closedlost",
                                        "1102": "closedwon", "1103": "closedlost"}


def deal(stage: str, history: list[tuple[str, str]] | None = None) -> dict[str, object]:
    """A deal as GET /crm/v3/objects/deals/{id}?propertiesWithHistory=dealstage answers ("CRM API | Deals")."""
    record: dict[str, object] = {
        "id": "9001", "createdAt": "2026-03-01T09:00:00Z",
        "properties": {"dealname": "Acme", "dealstage": stage, "amount": "1200", "deal_currency_code": "EUR",
                       "createdate": "2026-03-01T09:00:00Z", "closedate": "2026-03-20T12:00:00Z", "dealtype": None},
        "associations": {"companies": {"results": [{"id": "701", "type": "deal_to_company"}]}}}
    if history:
        record["propertiesWithHistory"] = {"dealstage": [{"value": v, "timestamp": t, "sourceType": "CRM_UI"}
                                                         for v, t in history]}
    return record


def touches(record: dict[str, object], stages: dict[str, str] | None = None) -> list[TouchEvent]:
    found = [r for _, r in crm.hubspot_rows([record], crm.Export("hubspot:62515", closed_stages=stages))]
    assert all(isinstance(t, TouchEvent) for t in found), found
    return found  # type: ignore[return-value]


def test_a_custom_pipelines_won_stage_closes_the_deal_as_won_given_the_pipelines():
    assert [t.event_type for t in touches(deal("1102"))] == ["opportunity_created"]  # unknown without pipelines
    won = touches(deal("1102"), closed_stages(PIPELINES))
    assert [(t.event_id, t.event_type, t.amount, t.account_id) for t in won] == [
        ("9001:created", "opportunity_created", 1200.0, "701"), ("9001:closed_won", "closed_won", 1200.0, "701")]
    assert [t.event_type for t in touches(deal("1103"), closed_stages(PIPELINES))][-1] == "closed_lost"


def test_each_move_to_an_open_stage_after_the_first_is_a_stage_change_dated_by_the_history():
    history = [("closedwon", "2026-03-20T12:00:00.000Z"), ("1101", "2026-03-05T08:00:00.000Z"),
               ("appointmentscheduled", "2026-03-01T09:00:00.000Z")]  # newest first, as HubSpot lists them
    found = touches(deal("closedwon", history), closed_stages(PIPELINES))
    assert [(t.event_id, t.event_type, t.stage_raw, t.occurred_at.isoformat()) for t in found] == [
        ("9001:created", "opportunity_created", "closedwon", "2026-03-01T09:00:00+00:00"),
        ("9001:stage:1101:1772697600000", "opportunity_stage_changed", "1101", "2026-03-05T08:00:00+00:00"),
        ("9001:closed_won", "closed_won", "closedwon", "2026-03-20T12:00:00+00:00")]
