"""The attribution marts on a lake built by `touchline stitch --lake`, checked against hand-made credit tables."""

import json

import pytest
from click.testing import CliRunner

from sinks.attribution import MODELS, attribute, open_lake
from streams.commands import main
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


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("attribution")
    touches = root / "touches.jsonl"
    touches.write_text("\n".join(json.dumps(touch_payload(
        event_id=event_id, occurred_at=at, event_type=kind, account_id="acme", anonymous_id=None, **fields))
        for event_id, at, kind, fields in JOURNEY))
    result = CliRunner().invoke(main, ["stitch", str(touches), "--lake", str(root / "lake"), "-o", str(root / "o")])
    assert result.exit_code == 0, result.output
    return root / "lake"


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
    assert [(r.value, r.conversions, r.revenue) for r in rows] == [("outbound", 1.0, 1000.0)]


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
    assert lines[0] == "model,dimension,value,conversions,revenue,pipeline"
    assert "linear,team,marketing,0.6,600.0,0.0" in lines


def test_scorecard_on_the_hand_made_journey(lake, tmp_path):
    spend = tmp_path / "spend.csv"
    spend.write_text("campaign_id,month,amount,currency\nspring,2026-01,250,USD\n")
    result = CliRunner().invoke(main, ["scorecard", "--lake", str(lake), "--target", "4000", "--format", "json",
                                       "--spend", str(spend)])
    assert result.exit_code == 0, result.output
    metrics = {(r["metric"], r["segment"]): r["value"] for r in map(json.loads, result.output.splitlines())}
    assert metrics[("closed-won revenue", "all")] == 1000
    assert metrics[("attainment vs target", "all")] == 0.25
    assert metrics[("lead → opportunity", "all")] == 1.0
    assert metrics[("median lead response hours", "all")] == 360.0  # form fill Jan 5 → SDR meeting Jan 20
    assert metrics[("SLA breach rate", "all")] == 1.0
    assert metrics[("average deal size", "marketing-sourced")] == 1000
    assert metrics[("median sales-cycle days", "marketing-sourced")] == 20.0
    shares = {seg: v for (m, seg), v in metrics.items() if m == "share of revenue (w_shaped)"}
    assert shares == pytest.approx({"marketing": 0.65, "sdr": 0.3, "sales": 0.05})
    assert metrics[("spend", "spring")] == 250
