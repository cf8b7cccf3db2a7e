"""The closed-loop marts (lead_quality, lead_quality_by_source, lead_rejections) against hand-made tables."""

import json

import pytest
from click.testing import CliRunner

from sinks.attribution import open_lake
from streams.cli import main
from tests.sql.test_attribution_sql import _stitched

SDR = {"team": "sdr", "channel": None}
EBOOK = {"channel": "paid_search", "campaign_id": "spring", "content_id": "/ebook/roi"}


def deal(opportunity, amount, currency):
    return {"opportunity_id": opportunity, "amount": amount, "currency": currency, "team": "sales", "channel": None}


JOURNEYS = {
    # accepted in 2 hours, won
    "acme": [("a1", "2026-01-05T10:00:00Z", "form_fill", EBOOK),
             ("a2", "2026-01-05T12:00:00Z", "lead_accepted", SDR),
             ("a3", "2026-01-20T10:00:00Z", "opportunity_created", deal("o1", 1000, "USD")),
             ("a4", "2026-02-20T10:00:00Z", "closed_won", deal("o1", 1000, "USD"))],
    # rejected after 30 hours (an SLA breach answered late); back in a second cycle, recycled, then won
    "globex": [("g1", "2026-01-10T10:00:00Z", "webinar_attended",
                {"channel": "webinar", "campaign_id": "q1-webinar", "content_id": "webinar-42"}),
               ("g2", "2026-01-11T16:00:00Z", "lead_rejected",
                {**SDR, "disposition_reason": "no_budget", "disposition_note": "no budget until Q3"}),
               ("g3", "2026-03-01T10:00:00Z", "form_fill", EBOOK),
               ("g4", "2026-03-01T11:00:00Z", "lead_recycled", {**SDR, "disposition_reason": "timing"}),
               ("g5", "2026-04-10T10:00:00Z", "opportunity_created", deal("o2", 500, "EUR")),
               ("g6", "2026-05-10T10:00:00Z", "closed_won", deal("o2", 500, "EUR"))],
    # disqualified in 3 hours
    "initech": [("i1", "2026-02-01T10:00:00Z", "form_fill", EBOOK),
                ("i2", "2026-02-01T13:00:00Z", "lead_disqualified",
                 {**SDR, "disposition_reason": "student_or_job_seeker"})],
    # nobody answered: a breach once two accounts are past its deadline
    "hooli": [("h1", "2026-02-10T10:00:00Z", "form_fill", {"channel": "email"})],
}


@pytest.fixture(scope="module")
def connection(tmp_path_factory):
    connection = open_lake(_stitched(tmp_path_factory.mktemp("loop"), JOURNEYS))
    connection.execute("set variable touchline_lead_quality_model = 'first_touch'")
    yield connection
    connection.close()


def test_lead_quality_has_one_row_per_lead_with_its_verdict_and_fate(connection):
    rows = connection.execute(
        "select lead_event_id, channel, content_id, disposition, disposition_reason, hours_to_disposition, "
        "was_accepted, was_recycled, is_sla_breach, opportunity_at is not null, won_at is not null, "
        "converted_after_recycling from lead_quality order by lead_event_id").fetchall()
    assert rows == [
        ("a1", "paid_search", "/ebook/roi", "accepted", None, 2.0, True, False, False, True, True, False),
        ("g1", "webinar", "webinar-42", "rejected", "no_budget", 30.0, False, False, True, False, False, False),
        ("g3", "paid_search", "/ebook/roi", "recycled", "timing", 1.0, False, True, False, True, True, True),
        ("h1", "email", None, None, None, None, False, False, True, False, False, False),
        ("i1", "paid_search", "/ebook/roi", "disqualified", "student_or_job_seeker", 3.0, False, False, False,
         False, False, False),
    ]
    note, = connection.execute("select disposition_note from lead_quality where lead_event_id = 'g1'").fetchone()
    assert note == "no budget until Q3"


def test_lead_quality_by_source_counts_verdicts_and_credits_revenue_per_currency(connection):
    rows = {(d, v): row for d, v, *row in connection.execute(
        "select dimension, value, leads, accepted, rejected, recycled, disqualified, awaiting_disposition, "
        "acceptance_rate, median_hours_to_disposition, opportunities, won, recycled_then_converted, "
        "credited_revenue, credited_currency from lead_quality_by_source").fetchall()}
    ebook = [3, 1, 0, 1, 1, 0, pytest.approx(1 / 3), 2.0, 2, 2, 1, 1000.0, "USD"]
    assert rows[("channel", "paid_search")] == ebook
    assert rows[("content", "/ebook/roi")] == ebook
    assert rows[("campaign_id", "spring")] == ebook
    assert rows[("channel", "webinar")] == [1, 0, 1, 0, 0, 0, 0.0, 30.0, 0, 0, 0, 500.0, "EUR"]
    assert rows[("content", "webinar-42")] == [1, 0, 1, 0, 0, 0, 0.0, 30.0, 0, 0, 0, 500.0, "EUR"]
    assert rows[("channel", "email")] == [1, 0, 0, 0, 0, 1, None, None, 0, 0, 0, None, None]
    assert rows[("content", "unknown")] == [1, 0, 0, 0, 0, 1, None, None, 0, 0, 0, None, None]
    assert len(rows) == 9


def test_credited_revenue_in_several_currencies_is_kept_apart(connection):
    connection.execute("set variable touchline_lead_quality_model = 'linear'")
    try:
        revenue, currency, by_currency = connection.execute(
            "select credited_revenue, credited_currency, credited_revenue_by_currency from lead_quality_by_source "
            "where dimension = 'channel' and value = 'paid_search'").fetchone()
    finally:
        connection.execute("set variable touchline_lead_quality_model = 'first_touch'")
    # linear: acme's only touch before its win is the e-book (USD 1000); globex's two touches before its
    # win are the webinar and the e-book (EUR 250 each)
    assert (revenue, currency) == (None, None)
    assert by_currency == {"EUR": 250.0, "USD": 1000.0}


def test_lead_rejections_name_each_verdict_and_reason_per_source(connection):
    rows = sorted(connection.execute("select dimension, value, disposition, reason, leads from lead_rejections "
                                     "where dimension in ('channel', 'content')").fetchall())
    assert rows == [
        ("channel", "paid_search", "disqualified", "student_or_job_seeker", 1),
        ("channel", "paid_search", "recycled", "timing", 1),
        ("channel", "webinar", "rejected", "no_budget", 1),
        ("content", "/ebook/roi", "disqualified", "student_or_job_seeker", 1),
        ("content", "/ebook/roi", "recycled", "timing", 1),
        ("content", "webinar-42", "rejected", "no_budget", 1),
    ]


def test_sla_breaches_of_the_hand_made_leads(connection):
    rows = connection.execute("select lead_event_id, answer_event_id, response_hours from sla_breaches "
                              "order by lead_event_id").fetchall()
    assert rows == [("g1", "g2", 30.0), ("h1", None, None)]


def test_attribute_by_content_credits_each_asset(tmp_path):
    lake = _stitched(tmp_path, JOURNEYS)
    result = CliRunner().invoke(main, ["attribute", "--lake", str(lake), "--model", "first_touch,markov",
                                       "--conversion", "closed_won", "--by", "content", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "first_touch,content,/ebook/roi,1.0,1000.0,0.0,USD" in lines
    assert "first_touch,content,webinar-42,1.0,500.0,0.0,EUR" in lines
    assert any(line.startswith("markov,content,/ebook/roi,") for line in lines)


def test_the_scorecard_reports_the_closed_loop_and_reads_sla_breaches(tmp_path):
    lake = _stitched(tmp_path, JOURNEYS)
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--format", "json"])
    assert result.exit_code == 0, result.output
    metrics = {(r["metric"], r["segment"]): r["value"] for r in map(json.loads, result.output.splitlines())}
    # five marketing leads: a1 accepted, g1 rejected (late: a breach), g3 recycled then won, i1 disqualified,
    # h1 never answered (a breach)
    assert metrics[("SLA breach rate", "all")] == 0.4
    assert metrics[("lead acceptance within SLA", "all")] == 0.6
    assert metrics[("lead acceptance rate", "all")] == 0.25  # one accepted of four with a verdict
    assert metrics[("lead acceptance rate", "paid_search")] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics[("leads awaiting a verdict", "all")] == 0.2
    assert metrics[("median hours to a verdict", "all")] == 2.5
    assert metrics[("rejection reasons", "rejected no_budget")] == 0.5
    assert metrics[("rejection reasons", "disqualified student_or_job_seeker")] == 0.5
    assert metrics[("recycled leads later won", "all")] == 1.0
    checked = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--lead-sla-hours", "48"])
    assert checked.exit_code == 2 and "judged at 24 h, not 48 h" in checked.output
    assert CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--lead-sla-hours", "24"]).exit_code == 0


def test_a_recycled_lead_knows_when_it_was_recycled_and_when_it_later_converted(connection):
    row = connection.execute("select strftime(recycled_at, '%m-%d %H'), strftime(converted_after_recycling_at, "
                             "'%m-%d %H'), strftime(won_after_recycling_at, '%m-%d %H') from lead_quality "
                             "where lead_event_id = 'g3'").fetchone()
    assert row == ("03-01 11", "04-10 10", "05-10 10")
