from datetime import UTC, datetime

from schemas import segment
from schemas.event_map import EventMap
from schemas.touch import TouchEvent

RECEIVED = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)

# Shapes as the Segment spec documents them (track, page, identify, group, batch).
TRACK = {
    "type": "track",
    "event": "Form Submitted",
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "anonymousId": "507f191e810c19729de860ea",
    "userId": "97980cfea0067",
    "originalTimestamp": "2026-03-01T11:59:00.000Z",
    "sentAt": "2026-03-01T11:59:30.000Z",
    "receivedAt": "2026-03-01T12:00:05.000Z",
    "context": {
        "groupId": "acct-acme",
        "campaign": {"name": "spring-launch", "source": "google", "medium": "cpc", "term": "crm"},
        "page": {"url": "https://touchline.dev/demo", "referrer": "https://www.google.com/"},
        "traits": {"email": "Peter@acme.com", "title": "VP Sales"},
    },
    "properties": {"form": "demo-request", "plan": "enterprise"},
}


def test_track_call_maps_ids_channel_and_skew_corrected_time():
    touch = segment.convert(TRACK, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent), touch
    assert touch.event_id == TRACK["messageId"]
    assert touch.event_type == "form_fill"
    assert touch.anonymous_id == "507f191e810c19729de860ea"
    assert touch.user_id == "97980cfea0067"
    assert touch.email == "Peter@acme.com"
    assert touch.account_id == "acct-acme"
    assert touch.channel == "paid_search"
    assert touch.campaign_id == "spring-launch"
    assert touch.utm == {"name": "spring-launch", "source": "google", "medium": "cpc", "term": "crm"}
    assert touch.role == "VP Sales"
    assert touch.team == "marketing"
    assert touch.properties == {"form": "demo-request", "plan": "enterprise", "url": "https://touchline.dev/demo",
                                "touchline_channel_from": {  # what the channel rules read, for a replay
                                    "utm": TRACK["context"]["campaign"], "referrer": "https://www.google.com/",
                                    "landing_page": "https://touchline.dev/demo"}}
    # received − (sentAt − originalTimestamp) = 12:00:05 − 30 s
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)


def test_device_clock_an_hour_fast_is_corrected():
    skewed = {**TRACK, "originalTimestamp": "2026-03-01T12:59:00Z", "sentAt": "2026-03-01T12:59:30Z"}
    touch = segment.convert(skewed, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)


def test_a_client_sent_received_at_is_never_trusted():
    call = {**TRACK, "receivedAt": "2020-01-01T00:00:00Z"}
    touch = segment.convert(call, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)
    assert touch.received_at == RECEIVED
    offline = segment.convert(call)  # no receive time (touchline validate): the device's time as sent
    assert isinstance(offline, TouchEvent) and offline.occurred_at == datetime(2026, 3, 1, 11, 59, tzinfo=UTC)


def test_libraries_timestamp_and_sent_at_are_corrected_like_original_timestamp():
    """What analytics-python and analytics.js send: timestamp + sentAt from a clock 48 h ahead."""
    call = {"type": "track", "event": "Demo Requested", "userId": "u-1",
            "timestamp": "2026-03-03T11:59:00+00:00", "sentAt": "2026-03-03T11:59:30+00:00"}
    touch = segment.convert(call, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)


def test_an_event_time_in_the_future_is_clamped_to_the_receive_time_and_flagged():
    call = {"type": "track", "event": "Demo Requested", "userId": "u-1", "timestamp": "2026-03-03T12:00:00Z"}
    touch = segment.convert(call, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == RECEIVED
    assert touch.properties == {"touchline_clamped_from": "2026-03-03T12:00:00+00:00",
                                "touchline_channel_from": {}}  # classified from nothing: direct
    near = segment.convert({**call, "timestamp": "2026-03-01T12:05:00Z"}, received_at=RECEIVED)
    assert isinstance(near, TouchEvent) and near.occurred_at == datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


def test_page_call_is_a_site_visit_classified_by_referrer():
    page = {"type": "page", "name": "Pricing", "messageId": "m-2", "anonymousId": "a-1",
            "timestamp": "2026-03-01T10:00:00Z",
            "context": {"page": {"url": "https://touchline.dev/pricing",
                                 "referrer": "https://www.bing.com/search?q=attribution"}}}
    touch = segment.convert(page)
    assert isinstance(touch, TouchEvent)
    assert (touch.event_type, touch.channel) == ("site_visit", "organic_search")


def test_page_without_referrer_or_campaign_is_direct():
    touch = segment.convert({"type": "page", "messageId": "m-3", "anonymousId": "a-1",
                             "timestamp": "2026-03-01T10:00:00Z"})
    assert isinstance(touch, TouchEvent) and touch.channel == "direct"


def test_identify_links_anonymous_visitor_to_email():
    call = {"type": "identify", "messageId": "m-4", "anonymousId": "a-1", "userId": "u-1",
            "traits": {"email": "peter@acme.com", "name": "Peter Gibbons"},
            "timestamp": "2026-03-01T10:00:00Z"}
    touch = segment.convert(call)
    assert isinstance(touch, TouchEvent)
    assert (touch.event_type, touch.anonymous_id, touch.user_id, touch.email) == (
        "identify", "a-1", "u-1", "peter@acme.com")


def test_group_call_carries_account_and_domain():
    call = {"type": "group", "messageId": "m-5", "userId": "u-1", "groupId": "acct-acme",
            "traits": {"name": "Acme", "domain": "acme.com", "industry": "Manufacturing"},
            "timestamp": "2026-03-01T10:00:00Z"}
    touch = segment.convert(call)
    assert isinstance(touch, TouchEvent)
    assert (touch.event_type, touch.account_id, touch.account_domain) == ("group", "acct-acme", "acme.com")


def test_paid_social_is_told_from_paid_search_by_source():
    call = {**TRACK, "context": {"campaign": {"source": "linkedin", "medium": "cpc"}}}
    touch = segment.convert(call)
    assert isinstance(touch, TouchEvent) and touch.channel == "paid_social"


def test_unmapped_event_names_land_as_custom_touches_and_a_mapping_names_them():
    call = {**TRACK, "event": "Pricing Calculator Used"}
    touch = segment.convert(call)
    assert isinstance(touch, TouchEvent) and touch.event_type == "custom:Pricing Calculator Used"
    named = EventMap.of({"pricing calculator used": "content_download"})
    touch = segment.convert(call, event_map=named)
    assert isinstance(touch, TouchEvent) and touch.event_type == "content_download"
    assert named.remap("custom:Pricing Calculator Used") == "content_download"
    assert named.remap("custom:Something Else") == "custom:Something Else"


def test_event_names_match_whatever_their_case():
    for name in ("Trial Started", "trial started", "TRIAL STARTED", " Trial Started "):
        touch = segment.convert({**TRACK, "event": name})
        assert isinstance(touch, TouchEvent) and touch.event_type == "trial_signup", name


def test_a_named_channel_keeps_no_rule_inputs_for_a_replay_to_reclassify():
    named = {**TRACK, "context": {**TRACK["context"], "touchline": {"channel": "partner"}},
             "properties": {"touchline_channel_from": {"referrer": "https://www.google.com/"}}}
    touch = segment.convert(named)
    assert isinstance(touch, TouchEvent), touch
    assert touch.channel == "partner" and touch.properties == {"url": "https://touchline.dev/demo"}


def test_ordinary_properties_stay_properties():
    properties = {"channel": "web", "team": "growth", "email": "x", "campaign_id": 7, "amount": "lots",
                  "currency": "dollars"}
    touch = segment.convert({**TRACK, "properties": properties})
    assert isinstance(touch, TouchEvent), touch
    assert {k: v for k, v in touch.properties.items() if k != "touchline_channel_from"} == {
        **properties, "url": "https://touchline.dev/demo"}
    assert (touch.channel, touch.team, touch.amount, touch.currency) == ("paid_search", "marketing", None, None)


def test_a_rule_feeds_touch_fields_from_properties_leniently():
    order = {"type": "track", "event": "Order Completed", "userId": 1234, "timestamp": "2026-03-01T10:00:00+0000",
             "properties": {"order_id": 50314, "revenue": "5000", "total": 5100, "currency": "usd"}}
    touch = segment.convert(order)
    assert isinstance(touch, TouchEvent), touch
    assert (touch.event_type, touch.user_id, touch.opportunity_id, touch.amount, touch.currency) == (
        "closed_won", "1234", "50314", 5000.0, "USD")
    bad = segment.convert({**order, "properties": {"order_id": "o-1", "revenue": "five", "currency": "USD"}})
    assert isinstance(bad, list) and [e.field for e in bad] == ["properties.revenue"]


def test_a_call_without_message_id_gets_one_from_its_content():
    call = {k: v for k, v in TRACK.items() if k != "messageId"}
    first = segment.convert(call, received_at=RECEIVED)
    retry = segment.convert({**call, "sentAt": "2026-03-01T11:59:40.000Z"}, received_at=RECEIVED)
    other = segment.convert({**call, "event": "Demo Requested"}, received_at=RECEIVED)
    assert isinstance(first, TouchEvent) and isinstance(retry, TouchEvent) and isinstance(other, TouchEvent)
    assert first.event_id == retry.event_id != other.event_id


def test_segment_style_timestamps_are_read_as_segment_reads_them():
    for text, expected in (("2015-2-02T00:30:08.276Z", datetime(2015, 2, 2, 0, 30, 8, 276000, tzinfo=UTC)),
                           ("2026-03-01T10:00:00+0000", datetime(2026, 3, 1, 10, tzinfo=UTC)),
                           ("2026-03-01T12:00:00+02", datetime(2026, 3, 1, 10, tzinfo=UTC)),
                           ("2026-03-01 10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC))):
        assert segment.parse_segment_time(text, "timestamp") == expected, text
    assert segment.parse_segment_time("2026-02-30T00:00:00Z", "timestamp").field == "timestamp"


def test_ids_as_numbers_e_mails_with_spaces_and_websites_are_taken():
    identify = segment.convert({"type": "identify", "userId": 42, "anonymousId": 7.0,
                                "traits": {"email": " Peter@Acme.com  "}, "timestamp": "2026-03-01T10:00:00Z"})
    assert isinstance(identify, TouchEvent), identify
    assert (identify.user_id, identify.anonymous_id, identify.email) == ("42", "7", "Peter@Acme.com")
    group = segment.convert({"type": "group", "userId": 42, "groupId": 99, "timestamp": "2026-03-01T10:00:00Z",
                             "traits": {"name": "Initech", "website": "https://www.initech.com/about"}})
    assert isinstance(group, TouchEvent), group
    assert (group.account_id, group.account_domain) == ("99", "initech.com")


def test_alias_links_the_previous_id_to_the_user_id():
    touches = segment.convert_call({"type": "alias", "previousId": "anon-9", "userId": "u-9",
                                    "timestamp": "2026-03-01T10:00:00Z"})
    assert all(isinstance(t, TouchEvent) for t in touches)
    assert [(t.event_type, t.anonymous_id, t.user_id) for t in touches] == [
        ("identify", "anon-9", "u-9"), ("identify", "anon-9", "anon-9")]


def test_errors_name_segment_fields():
    problems = segment.convert({**TRACK, "userId": {"id": 1}})
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["userId"]
    bad_time = segment.convert({**TRACK, "sentAt": "last tuesday"})
    assert isinstance(bad_time, list) and bad_time[0].field == "sentAt"
    nobody = segment.convert({"type": "track", "event": "Demo Requested", "timestamp": "2026-03-01T10:00:00Z"})
    assert isinstance(nobody, list) and nobody[0].field == "identifiers"


def test_batch_envelope_shares_sent_at_and_context():
    envelope = {"batch": [
        {"type": "track", "event": "Webinar Attended", "messageId": "b-1", "userId": "u-1",
         "originalTimestamp": "2026-03-01T11:00:00Z"},
        {"type": "page", "messageId": "b-2", "anonymousId": "a-9",
         "originalTimestamp": "2026-03-01T11:00:10Z"},
    ], "sentAt": "2026-03-01T11:00:20Z", "context": {"library": {"name": "analytics.js"}}}
    messages = segment.batch_messages(envelope)
    assert isinstance(messages, list)
    touches = [segment.convert(m, received_at=datetime(2026, 3, 1, 11, 0, 21, tzinfo=UTC))
               for m in messages]
    assert all(isinstance(t, TouchEvent) for t in touches)
    assert [t.occurred_at.second for t in touches] == [1, 11]
    assert segment.batch_messages({"batch": "nope"}).field == "batch"


def test_a_batch_context_fills_in_what_a_calls_own_context_lacks():
    envelope = {"batch": [{"type": "track", "event": "Demo Requested", "userId": "u-1",
                           "timestamp": "2026-03-01T11:00:00Z", "context": {"library": {"name": "analytics-python"}}}],
                "context": {"groupId": "acct-initech"}}
    messages = segment.batch_messages(envelope)
    assert isinstance(messages, list)
    touch = segment.convert(messages[0])
    assert isinstance(touch, TouchEvent) and touch.account_id == "acct-initech"


def test_an_alias_with_the_longest_message_id_keeps_both_ids_within_touch_1():
    touches = segment.convert_call({"type": "alias", "previousId": "anon-9", "userId": "u-9", "messageId": "m" * 128,
                                    "timestamp": "2026-03-01T10:00:00Z"})
    assert [len(t.event_id) for t in touches] == [128, 128]
    assert all(isinstance(TouchEvent.model_validate(t.to_wire()), TouchEvent) for t in touches)


def _verdict(event: str, **properties: object) -> TouchEvent:
    touch = segment.convert({**TRACK, "event": event, "properties": properties}, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent), touch
    return touch


def test_a_sales_tools_verdict_lands_as_a_disposition_with_its_reason_however_worded():
    rejected = _verdict("Lead Rejected", reason="No Budget", note="back in Q3")
    assert (rejected.event_type, rejected.team, rejected.disposition_reason, rejected.disposition_note) == (
        "lead_rejected", "sdr", "no_budget", "back in Q3")
    assert _verdict("lead rejected", rejection_reason="job-seeker").disposition_reason == "student_or_job_seeker"
    assert _verdict("Lead Disqualified", reason="competitor").disposition_reason == "competitor"
    recycled = _verdict("Lead Nurtured", reason="not now")
    assert (recycled.event_type, recycled.disposition_reason) == ("lead_recycled", "timing")
    assert _verdict("Lead Accepted").event_type == "lead_accepted"


def test_a_reason_outside_the_vocabulary_is_other_and_its_words_are_kept():
    touch = _verdict("Lead Rejected", reason="Wrong vertical")
    assert (touch.disposition_reason, touch.disposition_note) == ("other", "Wrong vertical")
    touch = _verdict("Lead Rejected", reason="Wrong vertical", note="they sell shoes")
    assert (touch.disposition_reason, touch.disposition_note) == ("other", "they sell shoes")


def test_the_content_asset_is_the_calls_content_id_or_the_pages_path():
    assert _verdict("Content Downloaded", asset_id="ebook-42").content_id == "ebook-42"
    assert _verdict("Form Submitted", content_id=1234).content_id == "1234"
    page = segment.convert({**TRACK, "type": "page", "name": "Pricing",
                            "context": {**TRACK["context"], "page": {"path": "/pricing", "url": "https://x.io/pricing"}}},
                           received_at=RECEIVED)
    assert isinstance(page, TouchEvent) and page.content_id == "/pricing"
    assert _verdict("Form Submitted").content_id is None


def test_only_a_verdict_carries_a_reason():
    touch = segment.convert({**TRACK, "context": {**TRACK["context"], "touchline": {"disposition_reason": "timing"}}},
                            received_at=RECEIVED)
    assert not isinstance(touch, TouchEvent)
    assert [str(e) for e in touch] == [
        "context.touchline.disposition_reason: only lead_accepted, lead_rejected, lead_recycled and "
        "lead_disqualified touches carry it, not form_fill"]
