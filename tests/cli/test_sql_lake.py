"""Every lake is queryable: `touchline sql --lake` builds the views for the statement; `touchline catalog`
writes them to a file for BI tools."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from streams.cli import main

SPEND = Path(__file__).parents[1] / "data" / "spend" / "spend.csv"


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_sql_runs_on_a_lake_that_only_an_import_wrote(tmp_path):
    lake = tmp_path / "lake"
    run("import", "spend", str(SPEND), "--format", "csv", "--lake", str(lake))
    output = run("sql", "select channel, currency, spend from channel_performance order by 1", "--lake", str(lake),
                 "--format", "csv")
    assert output.splitlines() == ["channel,currency,spend", "events,EUR,5000.0", "partner,USD,250.0"]
    assert not (tmp_path / "touchline.duckdb").exists()


def test_sql_without_a_catalog_file_reads_the_settings_lake(tmp_path):
    lake = tmp_path / "lake"
    run("import", "spend", str(SPEND), "--format", "csv", "--lake", str(lake))
    output = run("sql", "select count(*) as n from stg_spend", "--format", "csv",
                 env={"TOUCHLINE_LAKE": str(lake), "TOUCHLINE_CATALOG": str(tmp_path / "none.duckdb")})
    assert output.splitlines() == ["n", "2"]


def test_catalog_writes_a_file_a_bi_tool_opens_read_only(tmp_path):
    lake, catalog = tmp_path / "lake", tmp_path / "bi.duckdb"
    run("import", "spend", str(SPEND), "--format", "csv", "--lake", str(lake))
    assert "views over" in run("catalog", "--lake", str(lake), "--catalog", str(catalog))
    connection = duckdb.connect(str(catalog), read_only=True)
    try:
        assert connection.execute("select campaign_id, spend from campaign_performance order by 1").fetchall() == [
            ("ev-berlin", 5000.0), ("g2-profile", 250.0)]
    finally:
        connection.close()
    assert run("sql", "select count(*) from ad_spend", "--catalog", str(catalog), "--format", "csv").splitlines() \
        == ["count_star()", "2"]


def test_sql_prints_the_return_marts_in_a_reporting_currency_under_a_model(tmp_path):
    lake = tmp_path / "lake"
    run("import", "spend", str(SPEND), "--format", "csv", "--lake", str(lake))  # 5000 EUR, 250 USD in January
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nEUR,2026-01-01,1.1\n")
    statement = "select channel, currency, spend from channel_performance order by 1"
    output = run("sql", statement, "--lake", str(lake), "--reporting-currency", "usd", "--rates", str(rates),
                 "--model", "linear", "--format", "csv")
    assert output.splitlines() == ["channel,currency,spend", "events,USD,5500.0", "partner,USD,250.0"]
    model = run("sql", "select getvariable('touchline_return_model') as m", "--lake", str(lake), "--model", "linear",
                "--format", "csv")
    assert model.splitlines() == ["m", "linear"]
    rates.write_text("currency,valid_from,rate\nEUR,2026-02-01,1.1\n")
    refused = CliRunner().invoke(main, ["sql", statement, "--lake", str(lake), "--reporting-currency", "USD",
                                        "--rates", str(rates)])
    assert refused.exit_code == 1 and "no rate into USD for spend in EUR from 2026-01-10" in refused.output
    wrong = CliRunner().invoke(main, ["sql", statement, "--catalog", str(tmp_path / "c.duckdb"), "--model", "linear"])
    assert wrong.exit_code == 2 and "pass --lake" in wrong.output


def test_sql_names_a_missing_lake(tmp_path):
    result = CliRunner().invoke(main, ["sql", "select 1", "--lake", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and f"no lake at {tmp_path / 'nowhere'}" in result.output
