"""``touchline worker --alert-rules FILE`` (or TOUCHLINE_ALERT_RULES) refuses a bad file before anything starts."""

from __future__ import annotations

from click.testing import CliRunner

from streams.cli import main

TYPO = """[[destination]]
name = "revops"
kind = "webhok"
url = "https://hooks.example.com/touchline"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"""


def test_a_rules_file_with_a_typo_is_refused_with_its_line_before_the_broker_starts(tmp_path, monkeypatch):
    rules = tmp_path / "alerts.toml"
    rules.write_text(TYPO)
    monkeypatch.setenv("TOUCHLINE_LAKE", str(tmp_path / "lake"))
    result = CliRunner().invoke(main, ["worker", "--alert-rules", str(rules)])
    assert result.exit_code == 1
    assert f"{rules}:3: destination.0.kind:" in result.output and "webhook" in result.output
    assert "embedded broker" not in result.output and not (tmp_path / "lake").exists()


def test_the_environment_names_the_rules_file_too(tmp_path, monkeypatch):
    rules = tmp_path / "alerts.toml"
    rules.write_text(TYPO.replace('kind = "webhok"', 'kind = "webhook"\nsecrett = "x"'))
    monkeypatch.setenv("TOUCHLINE_ALERT_RULES", str(rules))
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1 and f"{rules}:4: destination.0.secrett: unknown key" in result.output
