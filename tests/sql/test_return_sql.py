"""The return marts (channel_performance, campaign_performance, influence) on a small hand-built lake: every
figure equals a table worked out by hand below, per currency, under the default model (w_shaped)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sinks.attribution import MissingRate
from sinks.returns import influence, query_returns
from streams.cli import main
from tests.conftest import touch_payload

USD_DEAL = {"opportunity_id": "o1", "amount": 1000, "currency": "USD", "team": "sales", "channel": None}
EUR_DEAL = {"opportunity_id": "o2", "amount": 500, "currency": "EUR", "team": "sales", "channel": None}
JOURNEYS = {
    "acme": [  # a USD deal: paid search, then a LinkedIn lead (tagged with the campaign's name), then an SDR
        ("a1", "2026-01-05T12:00:00Z", "ad_click", {"channel": "paid_search", "campaign_id": "111"}),
        ("a2", "2026-01-10T12:00:00Z", "form_fill", {"channel": "paid_social", "campaign_id": "Q1 Sponsored Content"}),
        ("a3", "2026-01-20T12:00:00Z", "meeting", {"channel": "outbound", "team": "sdr"}),
        ("a4", "2026-01-21T12:00:00Z", "opportunity_created", USD_DEAL),
        ("a5", "2026-02-10T12:00:00Z", "closed_won", USD_DEAL),
    ],
    "globex": [  # a EUR deal, all Meta
        ("g1", "2026-01-08T12:00:00Z", "ad_click", {"channel": "paid_social", "campaign_id": "238000001"}),
        ("g2", "2026-01-12T12:00:00Z", "form_fill", {"channel": "paid_social", "campaign_id": "238000001"}),
        ("g3", "2026-01-25T12:00:00Z", "opportunity_created", EUR_DEAL),
        ("g4", "2026-02-20T12:00:00Z", "closed_won", EUR_DEAL),
    ],
}
SPEND = """date,platform,account_id,campaign_id,campaign_name,channel,subchannel,amount,currency,clicks,impressions
2026-01-05,google_ads,g-1,111,Brand,paid_search,,100,USD,10,100
2026-01-06,google_ads,g-1,111,Brand,paid_search,,200,USD,20,200
2026-01-07,linkedin_ads,li-1,500111,Q1 Sponsored Content,paid_social,,400,EUR,,
2026-01-08,meta_ads,act_1,238000001,Retargeting,paid_social,,100,EUR,,
2026-01-09,csv,own,li-retarget,Retarget USD,paid_social,,50,USD,,
2026-02-03,google_ads,g-1,111,Brand,paid_search,,70,USD,,
"""
# W-shaped credit by hand (first 30%, lead 30%, opportunity touch 30%, the rest 10%; a missing milestone's
# weight goes to those present; with no other touches the milestones share everything):
# - acme's lead (a1, a2): first and lead, 1/2 each; its opportunity and win (a1, a2, a3): 1/3 each.
# - globex's lead (g1, g2): 1/2 each; opportunity and win: g1 1/3, g2 2/3 (lead and opportunity touch), all Meta.
# Every credited touch is in January, so January carries the return.
THIRD = 1 / 3
N = None
# (month, channel, currency): spend, leads, opportunities, pipeline, new customers, won revenue,
#                             cost per lead, cost per opportunity, CAC, ROAS, pipeline per spend
EXPECTED_CHANNELS = {
    ("2026-01-01", "paid_search", "USD"): (300, 0.5, THIRD, 1000 / 3, THIRD, 1000 / 3, 600, 900, 900, 10 / 9, 10 / 9),
    ("2026-01-01", "paid_social", "USD"): (50, 1.5, THIRD, 1000 / 3, THIRD, 1000 / 3, 100 / 3, 150, 150, 20 / 3,
                                           20 / 3),
    ("2026-01-01", "paid_social", "EUR"): (500, 1.5, 1, 500, 1, 500, 1000 / 3, 500, 500, 1, 1),
    ("2026-01-01", "outbound", "USD"): (0, 0, THIRD, 1000 / 3, THIRD, 1000 / 3, N, N, N, N, N),
    ("2026-02-01", "paid_search", "USD"): (70, 0, 0, 0, 0, 0, N, N, N, 0, 0),
}
EXPECTED_CAMPAIGNS = {
    ("2026-01-01", "111", "USD"): (300, 0.5, THIRD, 1000 / 3, THIRD, 1000 / 3, 600, 900, 900, 10 / 9, 10 / 9),
    ("2026-01-01", "500111", "EUR"): (400, 0.5, 0, 0, 0, 0, 800, N, N, 0, 0),
    ("2026-01-01", "500111", "USD"): (0, 0.5, THIRD, 1000 / 3, THIRD, 1000 / 3, N, N, N, N, N),
    ("2026-01-01", "238000001", "EUR"): (100, 1, 1, 500, 1, 500, 100, 100, 100, 5, 5),
    ("2026-01-01", "li-retarget", "USD"): (50, 0, 0, 0, 0, 0, N, N, N, 0, 0),
    ("2026-02-01", "111", "USD"): (70, 0, 0, 0, 0, 0, N, N, N, 0, 0),
}
# (channel, currency): opportunities, pipeline, won deals, won revenue touched (uncredited), then credited
EXPECTED_INFLUENCE = {
    ("outbound", "USD"): (1, 1000, 1, 1000, THIRD, 1000 / 3, THIRD, 1000 / 3),
    ("paid_search", "USD"): (1, 1000, 1, 1000, THIRD, 1000 / 3, THIRD, 1000 / 3),
    ("paid_social", "EUR"): (1, 500, 1, 500, 1, 500, 1, 500),
    ("paid_social", "USD"): (1, 1000, 1, 1000, THIRD, 1000 / 3, THIRD, 1000 / 3),
}
FIGURES = ("spend, leads, opportunities, pipeline, new_customers, won_revenue, cost_per_lead, cost_per_opportunity, "
           "cac, roas, pipeline_per_spend")


def return_lake(root):
    """The hand-built lake: the journeys above stitched, the spend above imported."""
    touches = root / "touches.jsonl"
    touches.write_text("\n".join(json.dumps(touch_payload(
        event_id=event_id, occurred_at=at, event_type=kind, account_id=account, anonymous_id=None, **fields))
        for account, journey in JOURNEYS.items() for event_id, at, kind, fields in journey))
    runner = CliRunner()
    result = runner.invoke(main, ["stitch", str(touches), "--lake", str(root / "lake"), "-o", str(root / "o")])
    assert result.exit_code == 0, result.output
    (root / "spend.csv").write_text(SPEND)
    result = runner.invoke(main, ["import", "spend", str(root / "spend.csv"), "--format", "csv", "--lake",
                                  str(root / "lake")])
    assert result.exit_code == 0, result.output
    return root / "lake"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return return_lake(tmp_path_factory.mktemp("returns"))


def table(lake, mart, key):
    _, rows = query_returns(lake, f"select cast(month as varchar), {key}, currency, {FIGURES} from {mart}")
    return {row[:3]: row[3:] for row in rows}


def assert_figures(got, expected):
    assert set(got) == set(expected)
    for key, figures in expected.items():
        assert got[key] == pytest.approx(figures, nan_ok=True), key


def test_channel_performance_equals_the_hand_made_table_per_currency(lake):
    assert_figures(table(lake, "channel_performance", "channel"), EXPECTED_CHANNELS)


def test_campaign_performance_counts_a_touch_tagged_with_a_campaigns_name_for_its_id(lake):
    assert_figures(table(lake, "campaign_performance", "campaign_id"), EXPECTED_CAMPAIGNS)


def test_influence_counts_every_touched_deal_in_full_beside_its_credit(lake):
    got = {(value, currency): figures for _, value, currency, *figures in
           [(row[0], row[1], row[2], *row[3:7], *row[8:]) for row in influence(lake, "channel")]}
    assert_figures(got, EXPECTED_INFLUENCE)


def test_no_figure_adds_two_currencies(lake):
    _, rows = query_returns(lake, "select month, channel, count(*), count(distinct currency), "
                                  "list(currency order by currency) from channel_performance "
                                  "where currency is not null group by all having count(*) > 1")
    assert [(r[1], r[4]) for r in rows] == [("paid_social", ["EUR", "USD"])]  # two rows, never one sum
    _, spent = query_returns(lake, "select currency, sum(spend) from channel_performance group by 1 order by 1")
    assert spent == [("EUR", 500.0), ("USD", 420.0)]


def test_another_model_moves_the_credit_and_not_the_spend(lake):
    _, rows = query_returns(lake, "select channel, currency, spend, opportunities from channel_performance "
                                  "where month = date '2026-01-01' order by 1, 2", model="first_touch")
    assert rows == [("paid_search", "USD", 300.0, 1.0),  # outbound earns no first-touch credit: no row
                    ("paid_social", "EUR", 500.0, 1.0), ("paid_social", "USD", 50.0, 0.0)]


def test_attribute_influence_prints_the_mart(lake):
    result = CliRunner().invoke(main, ["attribute", "--influence", "--by", "campaign_id", "--lake", str(lake),
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("dimension,value,currency,opportunities,pipeline,won_deals,won_revenue,model")
    assert lines[1:] == ["campaign_id,111,USD,1,1000.0,1,1000.0,w_shaped,0.333333,333.333333,0.333333,333.333333",
                         "campaign_id,238000001,EUR,1,500.0,1,500.0,w_shaped,1.0,500.0,1.0,500.0",
                         "campaign_id,500111,USD,1,1000.0,1,1000.0,w_shaped,0.333333,333.333333,0.333333,333.333333"]


def test_a_reporting_currency_converts_spend_and_return_at_the_days_rate(lake, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-01-01,1.1\n")
    _, rows = query_returns(lake, "select channel, currency, spend, won_revenue, roas from channel_performance "
                                  "where month = date '2026-01-01' and channel = 'paid_social'",
                            reporting_currency="USD", rates=rates)
    assert rows == [("paid_social", "USD", pytest.approx(600.0), pytest.approx(1000 / 3 + 550),
                     pytest.approx((1000 / 3 + 550) / 600))]


def test_spend_with_no_rate_for_its_day_is_refused_not_dropped(lake, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-01-20,1.1\n")  # the EUR deal's days, not the spend's
    with pytest.raises(MissingRate, match=r"^no rate into USD for spend in EUR from 2026-01-07: add it"):
        query_returns(lake, "select * from channel_performance", reporting_currency="USD", rates=rates)
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--reporting-currency", "USD", "--rates",
                                       str(rates)])
    assert result.exit_code != 0 and "spend in EUR from 2026-01-07" in result.output


def test_the_scorecards_spend_section_reads_the_imported_spend(lake):
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--format", "json"])
    assert result.exit_code == 0, result.output
    spend = {(row["metric"], row["segment"]): row["value"] for row in map(json.loads, result.output.splitlines())
             if row["section"] == "spend"}
    assert spend[("spend", "111 USD")] == 370 and spend[("attributed revenue", "111 USD")] == pytest.approx(333.3333)
    assert spend[("ROAS", "238000001 EUR")] == 5 and spend[("cost to revenue", "238000001 EUR")] == 0.2
    assert spend[("ROAS", "li-retarget USD")] == 0 and spend[("cost to revenue", "li-retarget USD")] is None


def test_a_data_driven_scorecard_says_its_spend_section_is_w_shaped(lake):
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--model", "markov", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "the spend section credits revenue under w_shaped, not markov" in result.stderr
    spend = {(row["metric"], row["segment"]): row["value"] for row in map(json.loads, result.stdout.splitlines())
             if row["section"] == "spend"}
    assert spend[("ROAS", "238000001 EUR")] == 5  # w_shaped's figure
    plain = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--model", "linear", "--format", "json"])
    assert plain.exit_code == 0 and "note:" not in plain.stderr


def test_the_spend_and_return_page_draws_each_currency_apart(lake):
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from dashboard.server import application

    async def fetch() -> str:
        async with TestClient(TestServer(application(str(lake)))) as client:
            answer = await client.get("/spend")
            assert answer.status == 200
            return await answer.text()

    text = asyncio.run(fetch())
    charts = sorted(part.split('"')[0] for part in text.split('data-chart="')[1:])
    assert charts == ["cohorts", "roas-EUR", "roas-USD", "spend-return-EUR", "spend-return-USD", "time-lag"]
    assert "<td>238000001</td><td>Retargeting</td><td>paid_social</td><td>EUR</td>" in text
    assert '<a href="/spend" class=current>Spend and return</a>' in text


def test_cohorts_give_the_share_of_each_first_touch_month_that_reached_each_milestone(lake):
    # acme (first touch Jan 5) and globex (Jan 8): leads and opportunities in January, wins in February
    _, rows = query_returns(lake, "select cast(cohort_month as varchar), months_since, accounts, lead_share, "
                                  "opportunity_share, won_share from cohorts order by 1, 2")
    assert rows == [("2026-01-01", 0, 2, 1.0, 1.0, 0.0), ("2026-01-01", 1, 2, 1.0, 1.0, 1.0)]


def test_time_lag_buckets_each_channels_credit_by_days_before_the_conversion(lake):
    # the wins: acme's on Feb 10 (a1 36 days before, a2 31, a3 21; 1/3 each), globex's on Feb 20 (g1 43 days, 1/3;
    # g2 39 days, 2/3)
    _, rows = query_returns(lake, "select channel, lag, credited_conversions, touches, median_days from time_lag "
                                  "where conversion_type = 'closed_won' order by 1, 2")
    assert rows == [("outbound", "8-30 days", pytest.approx(THIRD), 1, 21.0),
                    ("paid_search", "31-90 days", pytest.approx(THIRD), 1, 36.0),
                    ("paid_social", "31-90 days", pytest.approx(4 / 3), 3, 39.0)]
