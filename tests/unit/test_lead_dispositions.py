"""Sales' verdicts on leads and the lead SLA: scenario tests written from the rules table of docs/closed-loop.md."""

from datetime import UTC, datetime, timedelta

from schemas.vocabulary import Stage
from tests.conftest import make_touch as t
from transforms.settings import JourneySettings
from transforms.stitching import stitch, stream

F, E, C, G = Stage.FIND, Stage.ENGAGE, Stage.CLOSE, Stage.GROW
SLA = JourneySettings(lead_sla_hours=24)


def at(hours: float) -> str:
    return (datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(hours=hours)).isoformat()


def other_account_reaches(hours: float):
    """A touch of another account: the SLA clock moves when two accounts have reached a time."""
    return [t(at(hours), account_id="other", event_id=f"other-{hours}"), t(at(hours), account_id="third",
                                                                          event_id=f"third-{hours}")]


def test_a_rejection_within_the_sla_answers_the_lead_and_stops_its_clock():
    result = stitch([
        t(at(0), "form_fill", event_id="lead"),
        t(at(3), "lead_rejected", team="sdr", event_id="rejected", extra={"disposition_reason": "no_budget"}),
        *other_account_reaches(100),
    ], SLA)
    rows = [r for r in result.rows if r.account_id == "acme"]
    assert [r.lead_response_hours for r in rows] == [None, 3.0]
    assert result.breaches == []


def test_a_disposition_from_any_team_answers_the_lead():
    result = stitch([t(at(0), "form_fill"), t(at(5), "lead_disqualified", team="marketing"),
                     *other_account_reaches(100)], SLA)
    assert [r.lead_response_hours for r in result.rows if r.account_id == "acme"] == [None, 5.0]
    assert result.breaches == []


def test_a_rejection_after_the_sla_is_a_breach_answered_late():
    result = stitch([t(at(0), "form_fill", event_id="lead"), t(at(30), "lead_rejected", event_id="verdict"),
                     *other_account_reaches(100)], SLA)
    (breach,) = result.breaches
    assert (breach.lead_event_id, breach.answer_event_id, breach.answered_at) == (
        "lead", "verdict", datetime.fromisoformat(at(30)))
    assert breach.to_row()["response_hours"] == 30.0


def test_an_unanswered_lead_is_a_breach_once_the_clock_passes_its_deadline():
    touches = [t(at(0), "form_fill", event_id="lead")]
    assert stitch(touches + other_account_reaches(23), SLA).breaches == []
    (breach,) = stitch(touches + other_account_reaches(25), SLA).breaches
    assert (breach.lead_event_id, breach.answered_at, breach.due_at) == (
        "lead", None, datetime.fromisoformat(at(24)))


def test_after_a_rejection_the_next_engaged_touch_is_a_new_lead_in_a_new_cycle():
    rows = stitch([
        t(at(0), "site_visit"),
        t(at(1), "form_fill", event_id="first-lead"),
        t(at(2), "lead_rejected", team="sdr", extra={"disposition_reason": "student_or_job_seeker"}),
        t(at(50), "content_download"),
        t(at(60), "webinar_attended", event_id="second-lead"),
    ], SLA).rows
    assert [r.stage for r in rows] == [F, E, F, F, E]
    assert [r.cycle for r in rows] == [1, 1, 1, 2, 2]
    assert [r.touch.event_id for r in rows if r.is_lead_touch] == ["first-lead", "second-lead"]


def test_a_disqualified_lead_also_goes_back_to_find():
    rows = stitch([t(at(0), "demo"), t(at(1), "lead_disqualified", team="sales"), t(at(2), "chat")], SLA).rows
    assert [(r.stage, r.cycle, r.is_lead_touch) for r in rows] == [(E, 1, True), (F, 1, False), (E, 2, True)]


def test_a_recycled_lead_stays_in_engage_and_can_later_win_in_the_same_cycle():
    rows = stitch([
        t(at(0), "form_fill", event_id="lead"),
        t(at(4), "lead_recycled", team="sdr", extra={"disposition_reason": "timing"}),
        t(at(24 * 20), "email_click"),
        t(at(24 * 40), "form_fill"),  # engaged again: not a second lead, the cycle has one
        t(at(24 * 41), "opportunity_created", team="sales", opportunity_id="o1", amount=9e3, currency="EUR"),
        t(at(24 * 60), "closed_won", team="sales", opportunity_id="o1", amount=9e3, currency="EUR"),
    ], SLA).rows
    assert [r.stage for r in rows] == [E, E, E, E, C, G]
    assert {r.cycle for r in rows} == {1}
    assert [r.touch.event_id for r in rows if r.is_lead_touch] == ["lead"]
    assert rows[1].lead_response_hours == 4.0


def test_an_accepted_lead_stays_where_it_is():
    rows = stitch([t(at(0), "form_fill"), t(at(2), "lead_accepted", team="sdr")], SLA).rows
    assert [(r.stage, r.lead_response_hours) for r in rows] == [(E, None), (E, 2.0)]


def test_a_rejection_once_an_opportunity_is_open_moves_nothing():
    rows = stitch([
        t(at(0), "form_fill"),
        t(at(1), "opportunity_created", team="sales", opportunity_id="o1", amount=1.0, currency="USD"),
        t(at(2), "lead_rejected", team="sdr"),
        t(at(3), "meeting", team="sales"),
    ], SLA).rows
    assert [(r.stage, r.cycle) for r in rows] == [(E, 1), (C, 1), (C, 1), (C, 1)]


def test_the_stream_retracts_a_breach_when_an_answer_in_time_arrives_late():
    lead = t(at(0), "form_fill", event_id="lead")
    call = t(at(10), "call", team="sdr", event_id="call")  # logged in the CRM, synced two days later
    clock = other_account_reaches(48)
    streamed = stream([lead, *clock, call], SLA)
    assert streamed.breaches == {}
    assert stitch([lead, *clock, call], SLA).breaches == []
    half = stream([lead, *clock], SLA)
    assert list(half.breaches) == ["lead"] and half.breaches["lead"]["answered_at"] is None


def test_the_stream_updates_a_breach_when_a_late_answer_arrives():
    touches = [t(at(0), "form_fill", event_id="lead"), *other_account_reaches(30),
               t(at(40), "call", team="sales", event_id="late-call")]
    streamed = stream(touches, SLA)
    (batch,) = stitch(touches, SLA).breaches
    assert streamed.breaches == {"lead": batch.to_row()}
    assert batch.answer_event_id == "late-call" and batch.to_row()["response_hours"] == 40.0


def test_the_stream_retracts_a_breach_of_a_touch_that_stopped_being_the_lead():
    clock = other_account_reaches(48)
    touches = [t(at(10), "form_fill", event_id="later"), *clock,
               t(at(0), "chat", event_id="earlier"),  # arrives last, happened first: it is the lead
               t(at(1), "call", team="sdr", event_id="answer")]
    streamed = stream(touches, SLA)
    assert streamed.breaches == {} == {b.lead_event_id: b for b in stitch(touches, SLA).breaches}


LEAD_TOUCH = {"channel": "webinar", "campaign_id": "cmp-7", "team": "marketing", "crm_contact_id": "003C000001"}


def placed_records(touches, settings=SLA):
    """Every sla-breaches-v1 record the stream emits, retractions included (stream() keeps only the latest)."""
    from transforms.stitching import LeadWatch, place

    journeys, watch, records = {}, LeadWatch(settings), []
    for touch in touches:
        records += watch.advance(journeys, touch.account_id, touch.occurred_at)
        before, watched = journeys.get(touch.account_id) or (None, ())
        journey, placed, _ = place(before, touch, touch.account_id, settings, False)
        records += watch.judge(journeys, journey, watched, placed)
    return records


def test_a_breach_record_carries_its_lead_touchs_channel_campaign_team_and_contact():
    touches = [t(at(0), "form_fill", event_id="lead", **LEAD_TOUCH), t(at(2), "site_visit", channel="direct"),
               *other_account_reaches(30)]
    (batch,) = stitch(touches, SLA).breaches
    assert {k: batch.to_row()[k] for k in LEAD_TOUCH} == LEAD_TOUCH
    assert set(batch.columns()).isdisjoint(LEAD_TOUCH)  # the sla_breaches table's columns stay as they were
    assert stream(touches, SLA).breaches == {"lead": batch.to_row()}
    # long after the lead touch settled out of the stream's window, its answer still finds what it said
    late = [*touches, *other_account_reaches(24 * 30), t(at(24 * 30 + 1), "call", team="sdr", event_id="call")]
    (answered,) = stitch(late, SLA).breaches
    assert answered.answer_event_id == "call" and answered.to_row()["channel"] == "webinar"
    assert stream(late, SLA).breaches == {"lead": answered.to_row()}


def test_a_retraction_carries_the_lead_touch_of_the_breach_it_retracts():
    lead = t(at(0), "form_fill", event_id="lead", **LEAD_TOUCH)
    records = placed_records([lead, *other_account_reaches(48), t(at(10), "call", team="sdr", event_id="call")])
    breach, retraction = [r for r in records if r["lead_event_id"] == "lead"]
    assert retraction["retracted"] and not breach.get("retracted")
    assert {k: retraction[k] for k in LEAD_TOUCH} == LEAD_TOUCH == {k: breach[k] for k in LEAD_TOUCH}
