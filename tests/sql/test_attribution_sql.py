"""The attribution marts on a lake built by `touchline stitch --lake`, checked against hand-made credit tables."""

import json
import os

import pytest
from click.testing import CliRunner

from sinks.attribution import CONVERSIONS, MODELS, UNATTRIBUTED, attribute, open_lake
from sinks.tables import JOURNEY_FIELDS
from streams.cli import main
from tests.conftest import touch_payload

DEAL = {"opportunity_id": "o1", "amount": 1000, "currency": "USD", "team": "sales", "channel": None}
JOURNEY = [
    ("t1", "2026-01-01T12:00:00Z", "site_visit", {"channel": "organic_search", "campaign_id": "spring"}),
    ("t2", "2026-01-05T12:00:00Z", "form_fill", {"channel": "paid_search"}),
    ("t3", "2026-01-10T12:00:00Z", "webinar_attended", {"channel": "webinar"}),
    ("t4", "2026-01-20T12:00:00Z", "meeting", {"channel": "outbound", "team": "sdr"}),
    ("t5", "2026-01-21T12:00:00Z", "opportunity_created", DEAL),
    ("t6", "2026-02-01T12:00:00Z", "demo", {"channel": "outbound", "team": "sales"}),
    ("t7", "2026-02-10T12:00:00Z", "closed_won", DEAL),
]
DAYS_BEFORE_WIN = {"t1": 40, "t2": 36, "t3": 31, "t4": 21, "t6": 9}

EXPECTED_WON = {  # credit of each touch in the closed_won conversion
    "first_touch": {"t1": 1.0},
    "last_touch": {"t6": 1.0},
    "linear": {t: 0.2 for t in DAYS_BEFORE_WIN},
    "position_based": {"t1": 0.4, "t2": 0.2 / 3, "t3": 0.2 / 3, "t4": 0.2 / 3, "t6": 0.4},
    # no touch between the first and the lead touch: the two milestones share everything
    "u_shaped": {"t1": 0.5, "t2": 0.5},
    # the opportunity touch is the last touch before the opportunity was created (t4)
    "w_shaped": {"t1": 0.3, "t2": 0.3, "t4": 0.3, "t3": 0.05, "t6": 0.05},
    "full_path": {"t1": 0.225, "t2": 0.225, "t4": 0.225, "t6": 0.225, "t3": 0.1},
    "time_decay": {t: 0.5 ** (d / 7) / sum(0.5 ** (x / 7) for x in DAYS_BEFORE_WIN.values())
                   for t, d in DAYS_BEFORE_WIN.items()},
}


# Two more accounts, in other currencies: Globex wins a EUR deal; Initech's GBP renewal has no touch before it.
EURO_DEAL = {"opportunity_id": "o2", "amount": 500.25, "currency": "EUR", "team": "sales", "channel": None}
GLOBEX = [
    ("g1", "2026-03-01T12:00:00Z", "ad_click", {"channel": "paid_social"}),
    ("g2", "2026-03-03T12:00:00Z", "form_fill", {"channel": "email"}),
    ("g3", "2026-03-10T12:00:00Z", "opportunity_created", EURO_DEAL),
    ("g4", "2026-03-12T12:00:00Z", "demo", {"channel": "outbound", "team": "sales"}),
    ("g5", "2026-03-20T12:00:00Z", "closed_won", EURO_DEAL),
]
INITECH = [("i1", "2026-04-01T12:00:00Z", "renewal",
            {"opportunity_id": "o3", "amount": 300.5, "currency": "GBP", "team": "sales", "channel": None}),
           ("i2", "2026-04-02T12:00:00Z", "upsell",  # the same customer, a deal booked in another currency
            {"opportunity_id": "o4", "amount": 100, "currency": "USD", "team": "sales", "channel": None})]
# Every conversion, by hand: (type, currency) -> (conversions, amount: revenue, or pipeline for opportunities)
CONVERTED = {("lead", None): (2, 0), ("opportunity", "USD"): (1, 1000), ("opportunity", "EUR"): (1, 500.25),
             ("closed_won", "USD"): (1, 1000), ("closed_won", "EUR"): (1, 500.25), ("renewal", "GBP"): (1, 300.5),
             ("renewal", "USD"): (1, 100)}


def _stitched(root, journeys):
    touches = root / "touches.jsonl"
    touches.write_text("\n".join(json.dumps(touch_payload(
        event_id=event_id, occurred_at=at, event_type=kind, account_id=account, anonymous_id=None, **fields))
        for account, journey in journeys.items() for event_id, at, kind, fields in journey))
    result = CliRunner().invoke(main, ["stitch", str(touches), "--lake", str(root / "lake"), "-o", str(root / "o")])
    assert result.exit_code == 0, result.output
    return root / "lake"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return _stitched(tmp_path_factory.mktemp("attribution"), {"acme": JOURNEY})


@pytest.fixture(scope="module")
def currencies_lake(tmp_path_factory):
    return _stitched(tmp_path_factory.mktemp("currencies"), {"acme": JOURNEY, "globex": GLOBEX, "initech": INITECH})


def credits(lake, conversion_type):
    connection = open_lake(lake)
    rows = connection.execute("select model, event_id, credit, revenue_credit from attribution_credits "
                              "where conversion_type = ?", [conversion_type]).fetchall()
    connection.close()
    found = {}
    for model, event_id, credit, revenue in rows:
        found.setdefault(model, {})[event_id] = (credit, revenue)
    return found


@pytest.mark.parametrize("model", sorted(EXPECTED_WON))
def test_closed_won_credits_match_the_hand_made_table(lake, model):
    got = credits(lake, "closed_won")[model]
    assert {t: c for t, (c, _) in got.items()} == pytest.approx(EXPECTED_WON[model])
    assert sum(r for _, r in got.values()) == pytest.approx(1000, abs=0.005)  # to the cent


def test_lead_conversion_credits_the_touches_up_to_the_lead(lake):
    got = credits(lake, "lead")
    assert {t: c for t, (c, _) in got["position_based"].items()} == pytest.approx({"t1": 0.5, "t2": 0.5})
    assert {t: c for t, (c, _) in got["last_touch"].items()} == {"t2": 1.0}


def test_lookback_window_drops_older_touches(lake):
    rows = attribute(lake, ["first_touch"], "closed_won", "channel", lookback_days=30)
    assert [(r.value, r.conversions, r.revenue) for r in rows] == [("outbound", 1.0, 1000.0), (UNATTRIBUTED, 0, 0)]
    rows = attribute(lake, ["first_touch"], "closed_won", "channel", lookback_days=1)  # no touch the day before
    assert [(r.value, r.conversions, r.revenue, r.currency) for r in rows] == [(UNATTRIBUTED, 1, 1000.0, "USD")]


def test_every_model_sums_to_the_conversions_and_revenue(lake):
    rows = attribute(lake, list(MODELS), "closed_won", "channel")
    for model in MODELS:
        mine = [r for r in rows if r.model == model]
        assert sum(r.conversions for r in mine) == pytest.approx(1.0), model
        assert sum(r.revenue for r in mine) == pytest.approx(1000.0), model


def test_opportunity_attribution_credits_the_pipeline_under_every_model(lake):
    rows = attribute(lake, list(MODELS), "opportunity", "channel")
    for model in MODELS:
        mine = [r for r in rows if r.model == model]
        assert sum(r.conversions for r in mine) == pytest.approx(1.0), model
        assert sum(r.pipeline for r in mine) == pytest.approx(1000.0), model  # the deal's amount when created
        assert sum(r.revenue for r in mine) == 0, model  # nothing is won yet
    won = attribute(lake, ["linear"], "closed_won", "channel")
    assert sum(r.pipeline for r in won) == 0 and sum(r.revenue for r in won) == pytest.approx(1000.0)


def test_attribute_cli_csv_header_and_rows(lake):
    result = CliRunner().invoke(main, ["attribute", "--lake", str(lake), "--model", "linear,markov",
                                       "--conversion", "closed_won", "--by", "team", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "model,dimension,value,conversions,revenue,pipeline,currency"
    assert "linear,team,marketing,0.6,600.0,0.0,USD" in lines
    assert "linear,team,(unattributed),0.0,0.0,0.0,USD" in lines


def test_scorecard_on_the_hand_made_journey(lake, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("campaign_id,month,amount,currency\nspring,2026-01,250,USD\n")
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--target", "4000", "--format", "json",
                                       "--spend", str(spend)])
    assert result.exit_code == 0, result.output
    metrics = {(r["metric"], r["segment"]): r["value"] for r in map(json.loads, result.output.splitlines())}
    assert metrics[("closed-won revenue", "USD")] == 1000
    assert metrics[("attainment vs target", "USD")] == 0.25
    assert metrics[("lead → opportunity", "all")] == 1.0
    assert metrics[("median lead response hours", "all")] == 360.0  # form fill Jan 5 → SDR meeting Jan 20
    assert metrics[("SLA breach rate", "all")] == 1.0
    assert metrics[("average deal size", "marketing-sourced USD")] == 1000
    assert metrics[("median sales-cycle days", "marketing-sourced")] == 20.0
    shares = {seg: v for (m, seg), v in metrics.items() if m == "share of new-business revenue (w_shaped)"}
    assert shares == pytest.approx({"marketing USD": 0.65, "sdr USD": 0.3, "sales USD": 0.05})
    assert metrics[("leads lost without purchase", "all")] == 0 and metrics[("leads still open", "all")] == 0
    assert metrics[("spend", "spring USD")] == 250


@pytest.mark.parametrize("lookback_days", [1, 30, 365])
def test_credited_plus_unattributed_is_every_conversion_in_its_currency(currencies_lake, lookback_days):
    for conversion in CONVERSIONS:
        rows = attribute(currencies_lake, list(MODELS), conversion, "channel", lookback_days=lookback_days)
        expected = {currency: figures for (kind, currency), figures in CONVERTED.items() if kind == conversion}
        for model in MODELS:
            found: dict[str | None, list[float]] = {}
            for row in rows:
                if row.model == model:
                    totals = found.setdefault(row.currency, [0.0, 0.0])
                    totals[0] += row.conversions
                    totals[1] += row.revenue + row.pipeline
            assert found == {c: pytest.approx(list(v), abs=0.005) for c, v in expected.items()}, (conversion, model)


def test_amounts_are_credited_in_their_own_currency(currencies_lake):
    rows = attribute(currencies_lake, ["linear", "markov"], "closed_won", "channel")
    euro = [r for r in rows if r.currency == "EUR" and r.revenue]
    # Globex's three touches before the win (ad click, form fill, demo) share its EUR 500.25
    assert {r.value: round(r.revenue, 2) for r in euro if r.model == "linear"} == {
        "paid_social": 166.75, "email": 166.75, "outbound": 166.75}
    assert sum(r.revenue for r in euro if r.model == "markov") == pytest.approx(500.25, abs=0.005)
    assert {r.currency for r in rows if r.revenue} == {"USD", "EUR"}  # never one sum of both
    renewals = attribute(currencies_lake, ["linear"], "renewal", "channel")
    assert [(r.value, r.conversions, r.revenue, r.currency) for r in renewals] == [
        (UNATTRIBUTED, 1, 300.5, "GBP"), (UNATTRIBUTED, 1, 100, "USD")]
    connection = open_lake(currencies_lake)
    accounts = connection.execute("select account_id, revenue, currency, revenue_by_currency from journeys "
                                  "order by 1").fetchall()
    assert accounts == [("acme", 1000, "USD", "USD 1000.00"), ("globex", 500.25, "EUR", "EUR 500.25"),
                        ("initech", None, None, "GBP 300.50, USD 100.00")]  # no sum of two currencies


def _scorecard(lake, *options):
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--format", "json", *options])
    lines = result.output.splitlines() if result.exit_code == 0 else []
    return result, {(r["metric"], r["segment"]): r["value"] for r in map(json.loads, lines)}


def test_the_scorecard_reports_amounts_per_currency(currencies_lake):
    result, metrics = _scorecard(currencies_lake)
    assert result.exit_code == 0, result.output
    assert {seg: v for (m, seg), v in metrics.items() if m == "closed-won revenue"} == {"USD": 1000, "EUR": 500.25}
    assert metrics[("average deal size", "marketing-sourced EUR")] == 500.25
    shares = {seg: v for (m, seg), v in metrics.items() if m == "share of new-business revenue (w_shaped)"}
    assert sum(v for seg, v in shares.items() if seg.endswith(" EUR")) == pytest.approx(1.0)  # shares per currency
    assert sum(v for seg, v in shares.items() if seg.endswith(" USD")) == pytest.approx(1.0)
    renewals = {seg for (m, seg) in metrics if m == "share of renewal revenue (w_shaped)"}
    assert renewals == set()  # Initech's renewal had no touch to credit: not mixed into new business either
    result, _ = _scorecard(currencies_lake, "--target", "2000")
    assert result.exit_code == 2 and "--target-currency" in result.output  # which currency is the target in?
    result, metrics = _scorecard(currencies_lake, "--target", "2000", "--target-currency", "eur")
    assert metrics[("attainment vs target", "EUR")] == pytest.approx(500.25 / 2000, abs=1e-4)  # 4 decimals


def test_people_are_persons_not_identifiers(tmp_path):
    visits = [  # a visitor, later identified by a form fill; a second person by e-mail only
        ("a1", "2026-05-01T12:00:00Z", "site_visit", {"anonymous_id": "v-1"}),
        ("a2", "2026-05-02T12:00:00Z", "form_fill", {"anonymous_id": "v-1", "email": "Ann@Acme.com"}),
        ("a3", "2026-05-03T12:00:00Z", "webinar_attended", {"anonymous_id": None, "email": "ann@acme.com"}),
        ("a4", "2026-05-04T12:00:00Z", "site_visit", {"anonymous_id": None, "email": "bo@acme.com"}),
        ("a5", "2026-05-05T12:00:00Z", "site_visit", {"anonymous_id": "v-9", "account_id": None}),  # waits
    ]
    touches = tmp_path / "touches.jsonl"
    touches.write_text("\n".join(json.dumps(touch_payload(event_id=event_id, occurred_at=at, event_type=kind,
                                                          **({"account_id": "acme"} | fields)))
                                 for event_id, at, kind, fields in visits))
    result = CliRunner().invoke(main, ["stitch", str(touches), "--lake", str(tmp_path / "lake"), "-o", os.devnull])
    assert result.exit_code == 0, result.output
    connection = open_lake(tmp_path / "lake")
    assert connection.execute("select count_people from journeys").fetchall() == [(2,)]
    labels = dict(connection.execute("select event_id, person_label from journey_touches").fetchall())
    assert labels == {"a1": "ann@acme.com", "a2": "ann@acme.com", "a3": "ann@acme.com", "a4": "bo@acme.com"}
    density = connection.execute("select value from scorecard where metric like 'contact density%'").fetchall()
    assert density == [(2.0,)]
    assert connection.execute("select event_id from unresolved_touches").fetchall() == [("a5",)]


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_the_scorecard_takes_the_data_driven_models(currencies_lake, tmp_path, model):
    spend = tmp_path / "spend.csv"
    spend.write_text("campaign_id,month,amount,currency\nspring,2026-01,250,USD\n")
    result, metrics = _scorecard(currencies_lake, "--model", model, "--spend", str(spend))
    assert result.exit_code == 0, result.output
    shares = {seg: v for (m, seg), v in metrics.items() if m == f"share of new-business revenue ({model})"}
    assert {seg.rsplit(" ", 1)[1] for seg in shares} == {"USD", "EUR"}
    for currency in ("USD", "EUR"):
        assert sum(v for seg, v in shares.items() if seg.endswith(currency)) == pytest.approx(1.0, abs=1e-3)
    assert metrics[("spend", "spring USD")] == 250 and ("attributed revenue", "spring USD") in metrics


RATES = "currency,valid_from,rate\nEUR,2026-01-01,1.10\nEUR,2026-03-15,1.20\nGBP,2026-01-01,1.25\n"
# By hand, in USD: Globex's opportunity (Mar 10) at 1.10, its win (Mar 20) at 1.20; Initech's GBP renewal at 1.25
IN_USD = {"opportunity": (2, 1000 + 500.25 * 1.10), "closed_won": (2, 1000 + 500.25 * 1.20),
          "renewal": (2, 300.5 * 1.25 + 100), "lead": (2, 0)}


def test_a_reporting_currency_converts_each_amount_at_the_rate_of_its_day(currencies_lake, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text(RATES)
    for conversion, (count, amount) in IN_USD.items():
        rows = attribute(currencies_lake, list(MODELS), conversion, "channel", reporting_currency="usd", rates=rates)
        for model in MODELS:
            mine = [r for r in rows if r.model == model]
            assert {r.currency for r in mine} <= {"USD", None}, (conversion, model)
            assert sum(r.conversions for r in mine) == pytest.approx(count), (conversion, model)
            assert sum(r.revenue + r.pipeline for r in mine) == pytest.approx(amount, abs=0.005), (conversion, model)
    result, metrics = _scorecard(currencies_lake, "--reporting-currency", "USD", "--rates", str(rates),
                                 "--target", "3200")
    assert result.exit_code == 0, result.output
    assert metrics[("closed-won revenue", "USD")] == pytest.approx(1600.30, abs=1e-4)
    assert metrics[("attainment vs target", "USD")] == pytest.approx(1600.30 / 3200, abs=1e-4)


def test_an_amount_without_a_rate_is_an_error_naming_it(currencies_lake, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-01-01,1.10\n")
    result = CliRunner().invoke(main, ["attribute", "--lake", str(currencies_lake), "--reporting-currency", "USD",
                                       "--rates", str(rates)])
    assert result.exit_code == 2 and "no rate into USD for GBP from 2026-04-01" in result.output
    result = CliRunner().invoke(main, ["attribute", "--lake", str(currencies_lake), "--rates", str(rates)])
    assert result.exit_code == 2 and "--reporting-currency" in result.output


def test_an_email_on_a_company_domain_reaches_the_journey_once_the_domain_has_an_account(tmp_path):
    ann = [  # identify ann@acmewidgets.com, then a webinar: no touch yet ties the domain to an account
        ("d1", "2026-06-01T12:00:00Z", "identify", {"anonymous_id": "v-3", "email": "ann@acmewidgets.com"}),
        ("d2", "2026-06-02T12:00:00Z", "webinar_attended", {"anonymous_id": None, "email": "ann@acmewidgets.com"}),
    ]
    group = [("d3", "2026-06-03T12:00:00Z", "group",  # a group call: the domain is the account's
              {"anonymous_id": "v-8", "account_id": "acct-acme", "account_domain": "acmewidgets.com"})]

    def stitched(name, touches):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("\n".join(json.dumps(touch_payload(event_id=e, occurred_at=at, event_type=kind, **fields))
                                  for e, at, kind, fields in touches))
        result = CliRunner().invoke(main, ["stitch", str(path), "--lake", str(tmp_path / name), "-o", os.devnull])
        assert result.exit_code == 0, result.output
        return open_lake(tmp_path / name)

    waiting = stitched("without", ann)
    assert waiting.execute("select count(*) from journey_touches").fetchone()[0] == 0
    assert waiting.execute("select event_id from unresolved_touches").fetchall() == [("d2",)]
    joined = stitched("with", ann + group)
    assert joined.execute("select event_id, account_id, person_label from journey_touches order by 1").fetchall() == [
        ("d2", "acct-acme", "ann@acmewidgets.com")]
    assert joined.execute("select count(*) from unresolved_touches").fetchone()[0] == 0


def test_the_journey_touches_view_carries_every_column_of_the_lake_table(lake):
    # sinks/tables.py declares the table; the view lists its columns by name: a column added to one and not
    # the other fails here
    connection = open_lake(lake)
    columns = connection.sql("select * from journey_touches limit 0").columns
    connection.close()
    assert [name for name, _ in JOURNEY_FIELDS if name not in columns] == []
