"""`touchline evaluate` on lakes of causal populations: the models scored against the simulator's truth."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from sinks.attribution import merged_paths, open_lake, paths
from sinks.evaluation import evaluate
from streams.cli import main
from tests.properties.test_interval_coverage import lead_paths
from transforms.causal import CausalSettings, simulate

#: Six seeded causal populations of 600 accounts each (evaluate costs about 3 s a lake, whatever its size).
SEEDS, ACCOUNTS = (1, 2, 3, 4, 5, 6), 600


def causal_lake(tmp_path, seed, accounts=ACCOUNTS):
    """generate --causal, then stitch into a lake: what a user runs."""
    touches, truth = tmp_path / f"touches-{seed}.jsonl", tmp_path / f"truth-{seed}.json"
    lake = tmp_path / f"lake-{seed}"
    runner = CliRunner()
    result = runner.invoke(main, ["generate", "--causal", "--accounts", str(accounts), "--seed", str(seed),
                                  "--out", str(touches), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["stitch", str(touches), "--lake", str(lake), "--out", str(tmp_path / "rows")])
    assert result.exit_code == 0, result.output
    return lake, truth


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    root = tmp_path_factory.mktemp("causal")
    return [causal_lake(root, seed) for seed in SEEDS]


def test_last_touch_is_further_from_the_truth_than_the_data_driven_models(lakes):
    # Exposure follows intent (paid_search and direct reach in-market accounts late, with little or no effect):
    # last touch credits whatever came last, and loses to Markov and Shapley on every conversion type of six seeds.
    for lake, truth in lakes:
        found = evaluate(lake, json.loads(truth.read_text()), ["last_touch", "markov", "markov_order_2", "shapley"])
        for conversion in ("lead", "opportunity", "closed_won"):
            errors = {s.model: s.total_absolute_error for s in found.scores
                      if s.conversion == conversion and s.basis == "conversions"}
            assert errors["last_touch"] > max(errors["markov"], errors["markov_order_2"], errors["shapley"]), (
                lake, conversion, errors)
        assert {fit.order for fit in found.fits["closed_won"]} == {1, 2, 3, 4}
        assert all(0 <= fit.auc <= 1 and fit.log_likelihood < 0 for fits in found.fits.values() for fit in fits)


def test_money_is_scored_per_currency_and_best_comes_first(lakes):
    lake, truth = lakes[0]
    result = CliRunner().invoke(main, ["evaluate", "--truth", str(truth), "--lake", str(lake), "--model",
                                       "last_touch,linear,shapley", "--format", "csv"])
    assert result.exit_code == 0, result.output + result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    currencies = set(json.loads(truth.read_text())["conversions"]["closed_won"]["revenue"])
    assert {r["currency"] for r in rows if r["basis"] == "revenue"} == currencies
    assert {r["basis"] for r in rows if r["conversion"] == "opportunity"} == {"conversions", "pipeline"}
    for group in {(r["conversion"], r["basis"], r["currency"]) for r in rows}:
        mine = [r for r in rows if (r["conversion"], r["basis"], r["currency"]) == group]
        assert [int(r["rank"]) for r in mine] == [1, 2, 3]
        errors = [float(r["total_abs_error"]) for r in mine]
        assert errors == sorted(errors)
        for r in mine:  # the per-channel errors add up to the total
            assert sum(abs(float(v)) for k, v in r.items() if k.startswith("error_")) == pytest.approx(
                float(r["total_abs_error"]), abs=1e-3)
    assert "markov order 2 on closed_won: held-out log-likelihood" in result.stderr


def test_json_reports_shares_and_every_markov_order(lakes):
    lake, truth = lakes[1]
    result = CliRunner().invoke(main, ["evaluate", "--truth", str(truth), "--lake", str(lake), "--model", "markov",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    shares = [c["true_share"] for c in found["scores"][0]["channels"]]
    assert sum(shares) == pytest.approx(1.0)
    assert [f["order"] for f in found["markov_orders"]["lead"]] == [1, 2, 3, 4]


def test_evaluate_without_a_truth_file_names_the_option(lakes, tmp_path):
    lake, _ = lakes[0]
    result = CliRunner().invoke(main, ["evaluate", "--lake", str(lake)])
    assert result.exit_code == 2 and "--truth" in result.output
    not_causal = tmp_path / "truth.json"
    not_causal.write_text('{"event_id": "x"}')
    result = CliRunner().invoke(main, ["evaluate", "--lake", str(lake), "--truth", str(not_causal)])
    assert result.exit_code == 2 and "--truth" in result.output and "not a causal truth" in result.output


def test_the_coverage_tests_lead_paths_are_the_lakes(lakes):
    # tests/properties/test_interval_coverage.py reads lead paths off the simulator's records, without a lake
    lake, _ = lakes[0]
    connection = open_lake(lake)
    connection.execute("set variable touchline_conversion_type = 'lead'")
    from_lake = merged_paths(paths(connection, "lead", "channel"))
    connection.close()
    ours = lead_paths(simulate(CausalSettings(accounts=ACCOUNTS, seed=SEEDS[0])).records)
    assert sorted(from_lake, key=lambda p: p.channels) == sorted(ours, key=lambda p: p.channels)
