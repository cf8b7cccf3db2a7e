"""The stitch stage's stored journeys: a lead's origin survives the round trip, and a store of the release
before it (cursors and breaches without one) still reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.runtime.state_codecs import JOURNEY
from tests.conftest import make_touch
from transforms.lead_sla import Breach, Watched
from transforms.stitching import place
from transforms.types import LeadOrigin

ORIGIN = LeadOrigin("webinar", "cmp-7", "marketing", "003C000001")
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def a_journey():
    touch = make_touch(AT.isoformat(), "form_fill", event_id="lead", channel="webinar", campaign_id="cmp-7",
                       crm_contact_id="003C000001")
    journey, _, _ = place(None, touch, "acme")
    breach = Breach("lead", "acme", journey.journey_id, AT, AT + timedelta(hours=24), 24.0, None, None, ORIGIN)
    return journey, (Watched("lead", AT, breach, True),)


def test_a_journey_and_its_watched_breach_keep_the_leads_origin_through_the_store():
    journey, watched = a_journey()
    assert journey.window[-1][1].lead_origin == ORIGIN
    assert JOURNEY.decode(JOURNEY.encode((journey, watched))) == (journey, watched)


def test_a_journey_stored_before_lead_origins_reads_back_without_one():
    journey, watched = a_journey()
    state = JOURNEY.encode((journey, watched))
    account, journey_id, settled, order, window, kept = state
    old = (account, journey_id, settled[:8], order, tuple((touch, cursor[:8]) for touch, cursor in window),
           tuple((lead, at, breach[:8], scheduled) for lead, at, breach, scheduled in kept))
    back, back_watched = JOURNEY.decode(old)
    assert back.window[-1][1].lead_origin is None and back.window[-1][1].lead_event_id == "lead"
    assert back_watched[0].emitted.origin is None and back_watched[0].emitted.lead_event_id == "lead"
