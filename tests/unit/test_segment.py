from datetime import UTC, datetime

from schemas import segment
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
    touch = segment.convert(TRACK)
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
    assert touch.properties == {"form": "demo-request", "plan": "enterprise",
                                "url": "https://touchline.dev/demo"}
    # receivedAt − (sentAt − originalTimestamp) = 12:00:05 − 30 s
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)


def test_device_clock_an_hour_fast_is_corrected():
    skewed = {**TRACK, "originalTimestamp": "2026-03-01T12:59:00Z", "sentAt": "2026-03-01T12:59:30Z"}
    touch = segment.convert(skewed)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)


def test_collector_receive_time_is_used_when_the_call_has_none():
    call = {k: v for k, v in TRACK.items() if k != "receivedAt"}
    touch = segment.convert(call, received_at=RECEIVED)
    assert isinstance(touch, TouchEvent)
    assert touch.occurred_at == datetime(2026, 3, 1, 11, 59, 35, tzinfo=UTC)
    assert touch.received_at == RECEIVED


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


def test_configurable_event_map():
    call = {**TRACK, "event": "Pricing Calculator Used"}
    rejected = segment.convert(call)
    assert isinstance(rejected, list) and rejected[0].field == "event"
    touch = segment.convert(call, event_map={"Pricing Calculator Used": "content_download"})
    assert isinstance(touch, TouchEvent) and touch.event_type == "content_download"


def test_errors_name_segment_fields():
    problems = segment.convert({k: v for k, v in TRACK.items() if k != "messageId"})
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["messageId"]
    bad_time = segment.convert({**TRACK, "sentAt": "last tuesday"})
    assert isinstance(bad_time, list) and bad_time[0].field == "sentAt"


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
