"""Scenario tests written from the journey rules in ARCHITECTURE.md."""

from schemas.vocabulary import Stage
from tests.conftest import make_touch as t
from transforms.identity import Resolver
from transforms.settings import JourneySettings
from transforms.stitching import Journey, place, stitch

F, E, C, G = Stage.FIND, Stage.ENGAGE, Stage.CLOSE, Stage.GROW


def stages(rows):
    return [r.stage for r in rows]


def test_acme_full_cycle_with_retroactively_stitched_anonymous_visit():
    touches = [
        t("2026-03-01", "site_visit", account_id=None, anonymous_id="a1", event_id="visit"),
        t("2026-03-02", "content_download", account_id=None, anonymous_id="a1"),
        t("2026-03-03T09:00:00+00:00", "identify", account_id=None, anonymous_id="a1", user_id="u1",
          email="peter@acme.com"),
        t("2026-03-03T09:00:01+00:00", "group", user_id="u1", account_domain="acme.com"),
        t("2026-03-03T12:00:00+00:00", "form_fill", account_id=None, user_id="u1", event_id="lead"),
        t("2026-03-04T12:00:00+00:00", "call", team="sdr", account_id=None, email="peter@acme.com"),
        t("2026-03-10", "meeting", team="sales"),
        t("2026-03-15", "opportunity_created", team="sales", opportunity_id="o1", amount=5e4, currency="USD"),
        t("2026-03-20", "demo", team="sales"),
        t("2026-04-10", "closed_won", team="sales", opportunity_id="o1", amount=5e4, currency="USD"),
        t("2027-03-10", "renewal", team="customer_success", opportunity_id="o2", amount=5e4, currency="USD"),
    ]
    result = stitch(touches)
    rows = result.rows
    assert result.unresolved == []
    assert {r.account_id for r in rows} == {"acme"}
    assert stages(rows) == [F, F, E, E, E, C, C, G, G]
    assert [r.seq for r in rows] == list(range(1, 10))
    assert [r.cycle for r in rows] == [1] * 9
    assert rows[0].touch.event_id == "visit" and rows[0].is_first_touch
    assert [r.touch.event_id for r in rows if r.is_lead_touch] == ["lead"]
    assert rows[3].lead_response_hours == 24.0
    assert [r.touch.event_type for r in rows if r.is_opportunity_touch] == ["opportunity_created"]
    assert [r.touch.event_type for r in rows if r.is_close_touch] == ["closed_won"]
    assert [r.is_reengagement for r in rows] == [False] * 8 + [True]  # a customer stays in Grow
    assert [(r.stage_before, r.stage) for r in rows if r.is_transition] == [
        (None, F), (F, E), (E, C), (C, G)]


def test_dormancy_then_reengagement_opens_cycle_two_at_find():
    rows = stitch([
        t("2026-01-01", "site_visit"),
        t("2026-01-05", "webinar_attended"),
        t("2026-04-06", "site_visit"),  # 91 days later
        t("2026-04-08", "form_fill"),
    ]).rows
    assert stages(rows) == [F, E, F, E]
    assert [r.cycle for r in rows] == [1, 1, 2, 2]
    assert [r.is_reengagement for r in rows] == [False, False, True, False]
    assert [r.is_lead_touch for r in rows] == [False, True, False, True]
    assert [r.is_first_touch for r in rows] == [True, False, True, False]


def test_engaged_reengagement_restarts_at_engage():
    rows = stitch([t("2026-01-01", "site_visit"), t("2026-06-01", "demo", team="sales")]).rows
    assert stages(rows) == [F, E] and rows[1].is_reengagement and rows[1].cycle == 2


def test_gap_just_under_dormancy_is_not_a_reengagement():
    rows = stitch([t("2026-01-01", "site_visit"), t("2026-03-31T11:59:59+00:00", "site_visit")]).rows
    assert [r.is_reengagement for r in rows] == [False, False]
    settings = JourneySettings(dormancy_days=30)
    assert [r.is_reengagement for r in stitch(
        [t("2026-01-01", "site_visit"), t("2026-03-31", "site_visit")], settings).rows] == [False, True]


def test_closed_lost_goes_back_to_engage_then_next_cycle_wins():
    deal = {"team": "sales", "opportunity_id": "o1", "amount": 1e4, "currency": "EUR"}
    rows = stitch([
        t("2026-01-01", "form_fill"),
        t("2026-01-10", "opportunity_created", **deal),
        t("2026-02-10", "closed_lost", **deal),
        t("2026-02-20", "email_open"),
        t("2026-03-01", "webinar_attended"),
        t("2026-03-10", "opportunity_created", **{**deal, "opportunity_id": "o2"}),
        t("2026-04-10", "closed_won", **{**deal, "opportunity_id": "o2"}),
        t("2026-04-11", "closed_lost", **{**deal, "opportunity_id": "o3"}),  # a lost upsell
        t("2026-04-12", "meeting", team="customer_success"),
    ]).rows
    assert stages(rows) == [E, C, E, E, E, C, G, G, G]
    assert [r.cycle for r in rows] == [1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert [r.is_lead_touch for r in rows] == [True, False, False, False, True, False, False, False, False]


def test_churn_goes_back_to_find_and_the_next_touch_opens_a_cycle():
    deal = {"team": "sales", "opportunity_id": "o1", "amount": 1e4, "currency": "USD"}
    rows = stitch([
        t("2026-01-01", "opportunity_created", **deal),
        t("2026-01-20", "closed_won", **deal),
        t("2026-02-20", "churn", team="customer_success"),
        t("2026-03-01", "site_visit"),
    ]).rows
    assert stages(rows) == [C, G, F, F]
    assert [r.cycle for r in rows] == [1, 1, 1, 2]


def test_sales_lead_touch_opens_no_sla_clock():
    rows = stitch([t("2026-01-01", "call", team="sdr"), t("2026-01-03", "meeting", team="sales")]).rows
    assert rows[0].is_lead_touch and rows[1].lead_response_hours is None


def test_free_mail_address_is_never_attributed_to_an_account():
    result = stitch([
        t("2026-01-01", "site_visit", account_id="acme", account_domain="acme.com"),
        t("2026-01-02", "form_fill", account_id=None, email="alice@acme.com", event_id="alice"),
        t("2026-01-03", "form_fill", account_id=None, email="bob@gmail.com", event_id="bob"),
        t("2026-01-04", "group", account_id="acme", email="carol@gmail.com"),
        t("2026-01-05", "form_fill", account_id=None, email="dave@gmail.com", event_id="dave"),
        t("2026-01-06", "form_fill", account_id=None, email="carol@gmail.com", event_id="carol"),
    ])
    by_event = {r.touch.event_id: r.account_id for r in result.rows}
    assert by_event["alice"] == "acme"  # a company address, and acme owns acme.com
    assert by_event["carol"] == "acme"  # explicitly grouped, free mail or not
    assert "bob" not in by_event and "dave" not in by_event
    assert sorted(u.event_id for u in result.unresolved) == ["bob", "dave"]


def test_duplicates_are_absorbed():
    visit = t("2026-01-01", "site_visit", event_id="same")
    assert len(stitch([visit, visit, t("2026-01-02", "site_visit")]).rows) == 2


def test_accounts_that_share_a_person_merge_into_the_oldest():
    result = stitch([
        t("2026-01-01", "site_visit", account_id="old", user_id="u1"),
        t("2026-02-01", "site_visit", account_id="young", user_id="u2"),
        t("2026-03-01", "identify", account_id=None, user_id="u1", email="x@corp.io"),
        t("2026-03-02", "identify", account_id=None, user_id="u2", email="x@corp.io"),
    ])
    assert {r.account_id for r in result.rows} == {"old"}
    assert [(m.account_id, m.merged_account_id) for m in result.merges] == [("old", "young")]


def test_streaming_resolver_releases_buffered_anonymous_touches_when_identified():
    resolver = Resolver()
    first = resolver.add(t("2026-01-01", "site_visit", account_id=None, anonymous_id="a1"))
    assert first.resolved == [] and len(resolver.waiting()) == 1
    resolver.add(t("2026-01-02", "identify", account_id=None, anonymous_id="a1", user_id="u1"))
    released = resolver.add(t("2026-01-03", "group", account_id="acme", user_id="u1"))
    assert [(a, x.event_type) for a, x in released.resolved] == [("acme", "site_visit")]
    assert resolver.waiting() == []


def test_resolver_buffer_is_bounded_and_overflow_is_given_up_as_unresolved():
    resolver = Resolver(JourneySettings(pending_per_visitor=2))
    outcomes = [resolver.add(t(f"2026-01-0{d}", account_id=None, anonymous_id="a1")) for d in (1, 2, 3)]
    assert [len(o.unresolved) for o in outcomes] == [0, 0, 1]
    assert len(resolver.waiting()) == 2


def test_place_puts_a_late_touch_in_event_time_order_and_reemits_what_follows():
    journey = None
    early = [t("2026-01-01", "site_visit"), t("2026-01-03", "form_fill"), t("2026-01-04", "call", team="sdr")]
    for touch in early:
        journey, rows, late = place(journey, touch, "acme")
    journey, rows, late = place(journey, t("2026-01-02", "webinar_attended", event_id="w"), "acme")
    assert late is None
    assert [r.touch.event_id for r in rows] == ["w", early[1].event_id, early[2].event_id]
    assert [r.seq for r in rows] == [2, 3, 4]
    assert rows[0].is_lead_touch and not rows[1].is_lead_touch


def test_place_sends_touches_older_than_the_lateness_bound_to_the_late_path():
    settings = JourneySettings(allowed_lateness_hours=24)
    journey = None
    for touch in [t("2026-01-01", "site_visit"), t("2026-01-05", "site_visit"), t("2026-01-09", "site_visit")]:
        journey, _, _ = place(journey, touch, "acme", settings)
    assert isinstance(journey, Journey) and len(journey.window) == 1
    straggler = t("2026-01-02", "form_fill")
    journey, rows, late = place(journey, straggler, "acme", settings)
    assert rows == [] and late == straggler


def test_a_retry_with_an_earlier_clock_does_not_take_the_originals_place_on_the_journey_or_its_sla():
    from datetime import UTC, datetime

    from transforms.stitching import stream

    def received(at):
        return {"received_at": at}

    visit = t("2026-03-02T08:59:40+00:00", event_id="v", extra=received("2026-03-02T08:59:41Z"))
    lead = t("2026-03-02T09:00:00+00:00", "form_fill", event_id="lead", extra=received("2026-03-02T09:00:05Z"))
    retry = lead._replace(occurred_at=datetime(2026, 3, 2, 8, 59, 20, tzinfo=UTC),
                          extra=received("2026-03-02T09:10:00Z"))  # re-sent: a new sentAt, so an earlier clock
    later = [t("2026-03-05", event_id="v2"), t("2026-03-05", event_id="o", account_id="other")]
    # By hand: the original (received first) is the lead, after the visit; its SLA runs from 09:00:00.
    expected = [("v", 1, F, True, False), ("lead", 2, E, False, True), ("v2", 3, E, False, False)]
    due = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    for touches in ([visit, lead, retry, *later], [retry, visit, *later, lead], [*later, retry, lead, visit]):
        result = stitch(touches)
        rows = [r for r in result.rows if r.account_id == "acme"]
        assert [(r.touch.event_id, r.seq, r.stage, r.is_first_touch, r.is_lead_touch) for r in rows] == expected
        assert rows[1].touch.occurred_at == lead.occurred_at
        assert [(b.lead_event_id, b.lead_at, b.due_at) for b in result.breaches] == [("lead", lead.occurred_at, due)]
        streamed = stream(touches, JourneySettings(allowed_lateness_hours=24 * 30))
        acme = sorted((r for r in streamed.rows.values() if r.account_id == "acme"), key=lambda r: r.seq)
        assert [(r.touch.event_id, r.seq, r.stage, r.is_first_touch, r.is_lead_touch) for r in acme] == expected
        breaches = [(b["lead_event_id"], b["due_at"]) for b in streamed.breaches.values()]
        assert breaches == [("lead", "2026-03-03T09:00:00Z")]
