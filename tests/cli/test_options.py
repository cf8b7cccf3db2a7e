"""Command options: a bad value is refused with a message naming the option (exit 2); every command finds
the lake and the catalog the same way (the flag, then TOUCHLINE_LAKE / TOUCHLINE_CATALOG, then the default)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from streams.cli import main

REJECTED = [
    (["attribute", "--half-life-days", "0"], "--half-life-days"),
    (["attribute", "--lookback-days", "0"], "--lookback-days"),
    (["attribute", "--lookback-days", "-5"], "--lookback-days"),
    (["scorecard", "--lookback-days", "0"], "--lookback-days"),
    (["scorecard", "--lead-sla-hours", "-1"], "--lead-sla-hours"),
    (["scorecard", "--target", "0"], "--target"),
    (["dashboard", "--port", "70000"], "--port"),
    (["dashboard", "--dormancy-days", "0"], "--dormancy-days"),
    (["stitch", "-", "--dormancy-days", "0"], "--dormancy-days"),
    (["stitch", "-", "--lead-sla-hours", "0"], "--lead-sla-hours"),
    (["stitch", "-", "--allowed-lateness-hours", "-1"], "--allowed-lateness-hours"),
    (["worker", "--lead-sla-hours", "0"], "--lead-sla-hours"),
    (["replay", "--workers", "0"], "--workers"),
    (["generate", "--accounts", "0"], "--accounts"),
    (["generate", "--days", "0"], "--days"),
    (["generate", "--duplicates", "1.5"], "--duplicates"),
    (["generate", "--start", "2026-13-01"], "--start"),
    (["generate", "--skew", "-0.1"], "--skew"),
    (["demo", "--late", "2"], "--late"),
    (["demo", "--timeout", "0"], "--timeout"),
    (["collector", "--port", "0"], "--port"),
]


@pytest.mark.parametrize(("args", "option"), REJECTED, ids=[" ".join(args) for args, _ in REJECTED])
def test_a_bad_option_value_is_refused_naming_the_option(args, option):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert option in result.output and "Invalid value" in result.output


@pytest.mark.parametrize("command", ["attribute", "scorecard", "dashboard", "forget --email a@b.example", "compact",
                                     "vacuum"])
def test_commands_read_the_lake_from_the_environment(command, tmp_path, monkeypatch):
    missing = tmp_path / "not-a-lake"
    monkeypatch.setenv("TOUCHLINE_LAKE", str(missing))
    result = CliRunner().invoke(main, command.split())
    assert result.exit_code == 2 and f"no lake at {missing}" in result.output


def test_sql_reads_the_catalog_from_the_environment(tmp_path, monkeypatch):
    missing = tmp_path / "elsewhere.duckdb"
    monkeypatch.setenv("TOUCHLINE_CATALOG", str(missing))
    result = CliRunner().invoke(main, ["sql", "select 1"])
    assert result.exit_code == 2 and f"no catalog at {missing}" in result.output


def test_the_demo_help_shows_the_fault_rates_it_injects():
    def help_of(command: str) -> str:
        return " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())  # unwrapped

    text = help_of("demo")
    assert "default: 0.02;" in text and "default: 0.05;" in text and "default: 0.01;" in text
    assert "default: 0.0;" in help_of("generate")


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("TOUCHLINE_ALLOWED_ORIGINS", "segment:web=www.acme.com", "TOUCHLINE_ALLOWED_ORIGINS entry"),
    ("TOUCHLINE_WRITE_KEYS", "segment:web=abc", "TOUCHLINE_WRITE_KEYS entry"),
    ("TOUCHLINE_EVENT_MAP", "EVENT_MAP_FILE", "event_type 'page_view' is not a touch/1 event type"),
])
@pytest.mark.parametrize("command", ["collector", "up"])
def test_the_collector_names_a_bad_setting_before_it_starts(command, variable, value, problem, tmp_path,
                                                            monkeypatch):
    names = tmp_path / "events.toml"
    names.write_text('[events]\n"Viewed" = "page_view"\n')
    monkeypatch.setenv("TOUCHLINE_WRITE_KEYS", "segment:web=" + "0" * 64)
    monkeypatch.setenv("TOUCHLINE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv(variable, str(names) if value == "EVENT_MAP_FILE" else value)
    result = CliRunner().invoke(main, [command, "--lake", str(tmp_path / "lake")] if command == "up" else [command])
    assert result.exit_code == 2 and problem in result.output, result.output
