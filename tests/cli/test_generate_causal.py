"""`touchline generate --causal`: touches plus the counterfactual truth file."""

import json

from click.testing import CliRunner

from streams.cli import main
from transforms.causal import CausalSettings, simulate


def test_causal_generate_writes_the_touches_and_the_simulators_truth(tmp_path):
    out, truth = tmp_path / "touches.jsonl", tmp_path / "truth.json"
    result = CliRunner().invoke(main, ["generate", "--causal", "--accounts", "120", "--seed", "9", "--out", str(out),
                                       "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    written = json.loads(truth.read_text())
    run = simulate(CausalSettings(accounts=120, seed=9))
    assert written == json.loads(json.dumps(run.truth))
    assert [json.loads(line) for line in out.read_text().splitlines()] == run.records
    assert set(written["channels"]["webinar"]) == {"lead", "opportunity", "closed_won"}


def test_an_effects_file_sets_the_channels(tmp_path):
    effects = tmp_path / "effects.json"
    effects.write_text(json.dumps({"baseline": {"lead": 0.0}, "channels": {"only": {"rate": 2, "lead": 1.0}}}))
    truth = tmp_path / "truth.json"
    result = CliRunner().invoke(main, ["generate", "--causal", "--effects", str(effects), "--accounts", "50",
                                       "--out", str(tmp_path / "t.jsonl"), "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    written = json.loads(truth.read_text())
    assert list(written["channels"]) == ["only"]
    assert written["channels"]["only"]["lead"]["incremental_conversions"] == written["conversions"]["lead"][
        "conversions"]


def test_faults_and_effects_without_causal_are_usage_errors(tmp_path):
    effects = tmp_path / "effects.json"
    effects.write_text("{}")
    assert "add --causal" in CliRunner().invoke(main, ["generate", "--effects", str(effects)]).output
    assert "clean touches" in CliRunner().invoke(main, ["generate", "--causal", "--duplicates", "0.1"]).output
