"""``touchline import spend``: each platform's documented export shape (fixtures in tests/data/spend, their pages
named in its README) into the lake's spend table; overlapping re-imports replace, never add."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas import channels
from sinks.lake import Lake
from streams.cli import main

DATA = Path(__file__).parents[1] / "data" / "spend"
COLUMNS = "platform, account_id, campaign_id, cast(event_date as varchar), channel, subchannel, amount, currency, " \
          "clicks, impressions"


def imported(lake: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["import", "spend", *args, "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    return result.output


def spend_rows(lake: Path) -> list[tuple]:
    store = Lake(str(lake))
    connection = store.connect()
    try:
        return connection.execute(f"select {COLUMNS} from read_parquet(?, hive_partitioning = true) order by all",
                                  [store.files("spend")]).fetchall()
    finally:
        connection.close()


@pytest.mark.parametrize(("fmt", "name", "extra", "expected"), [
    ("google_ads", "google_ads_api.json", [], [
        ("google_ads", "1234567890", "111", "2026-01-05", "paid_search", None, 125.5, "USD", 40, 900),
        ("google_ads", "1234567890", "111", "2026-01-06", "paid_search", None, 99.25, "USD", 35, 850),
        ("google_ads", "1234567890", "222", "2026-01-05", "paid_search", None, 80.0, "USD", 12, 400)]),
    ("google_ads", "google_ads_ui.csv", [], [
        ("google_ads", "1234567890", "111", "2026-01-06", "paid_search", None, 110.0, "USD", 38, 870),
        ("google_ads", "1234567890", "111", "2026-01-07", "paid_search", None, 1020.4, "USD", 300, 7100)]),
    ("linkedin_ads", "linkedin_ads.csv", [], [
        ("linkedin_ads", "Acme Marketing", "500111", "2026-01-01", "paid_social", None, 300.0, "EUR", 60, 5000),
        ("linkedin_ads", "Acme Marketing", "500111", "2026-01-02", "paid_social", None, 200.0, "EUR", 40, 4000)]),
    ("meta_ads", "meta_ads.csv", [], [
        ("meta_ads", "act_777", "238000001", "2026-01-01", "paid_social", None, 50.25, "EUR", 25, 3000),
        ("meta_ads", "act_777", "238000001", "2026-01-02", "paid_social", None, 49.75, "EUR", 22, 2900)]),
    ("ga4_cost", "ga4_cost.csv", ["--currency", "usd"], [
        ("ga4_cost", "default", "bing-brand", "2026-01-03", "paid_search", None, 30.5, "USD", 20, 500),
        ("ga4_cost", "default", "nl-jan", "2026-01-03", "email", None, 400.0, "USD", 150, 10000)]),
    ("csv", "spend.csv", [], [
        ("csv", "default", "ev-berlin", "2026-01-10", "events", "trade_show", 5000.0, "EUR", None, None),
        ("csv", "default", "g2-profile", "2026-01-10", "partner", None, 250.0, "USD", 12, None)]),
])
def test_each_platforms_export_imports_as_documented(tmp_path, fmt, name, extra, expected):
    imported(tmp_path / "lake", str(DATA / name), "--format", fmt, *extra)
    assert spend_rows(tmp_path / "lake") == expected


def test_an_overlapping_reimport_replaces_the_days_it_covers_and_changes_no_totals(tmp_path):
    lake = tmp_path / "lake"
    imported(lake, str(DATA / "google_ads_api.json"), "--format", "google_ads")
    imported(lake, str(DATA / "google_ads_ui.csv"), "--format", "google_ads")  # Jan 6 again, and Jan 7
    once = spend_rows(lake)
    assert [(row[2], row[3], row[6]) for row in once] == [
        ("111", "2026-01-05", 125.5), ("111", "2026-01-06", 110.0), ("111", "2026-01-07", 1020.4),
        ("222", "2026-01-05", 80.0)]
    imported(lake, str(DATA / "google_ads_ui.csv"), str(DATA / "google_ads_api.json"), "--format", "google_ads")
    imported(lake, str(DATA / "google_ads_ui.csv"), "--format", "google_ads")
    assert spend_rows(lake) == once


def test_rows_of_one_campaign_and_day_in_a_file_are_added_up(tmp_path):
    imported(tmp_path / "lake", str(DATA / "meta_ads_by_ad_set.csv"), "--format", "meta_ads")
    assert spend_rows(tmp_path / "lake") == [  # Jan 1: two ad sets' rows (one without link clicks)
        ("meta_ads", "act_777", "238000001", "2026-01-01", "paid_social", None, 50.25, "EUR", 15, 3000),
        ("meta_ads", "act_777", "238000001", "2026-01-02", "paid_social", None, 49.75, "EUR", 22, 2900)]


def test_rows_of_one_campaign_and_day_that_cannot_be_added_are_named(tmp_path):
    bad = tmp_path / "split.csv"
    bad.write_text("date,campaign_id,campaign_name,channel,subchannel,amount,currency,clicks,impressions\n"
                   "2026-01-10,c1,One,events,,100,EUR,,\n"
                   "2026-01-10,c1,One,events,,40,USD,,\n"
                   "2026-01-10,c1,One,partner,,5,EUR,,\n"
                   "2026-01-10,c1,One,events,,1,EUR,,\n")
    result = CliRunner().invoke(main, ["import", "spend", str(bad), "--format", "csv", "--lake",
                                       str(tmp_path / "lake")])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith(str(bad))] == [
        f"{bad}:3: currency: 'USD', but row 2 of the same campaign and day has 'EUR': rows of one campaign and day "
        "are added up, so they must agree",
        f"{bad}:4: channel: 'partner', but row 2 of the same campaign and day has 'events': rows of one campaign and "
        "day are added up, so they must agree"]
    assert not Lake(str(tmp_path / "lake")).files("spend")
    imported(tmp_path / "lake", str(bad), "--format", "csv", "--partial")
    assert [row[6] for row in spend_rows(tmp_path / "lake")] == [101.0]


def test_campaigns_map_to_channels_by_the_rules_on_their_id_or_name(tmp_path):
    rules = tmp_path / "rules.csv"
    rules.write_text("channel,subchannel,utm_source,utm_medium,utm_campaign,referrer,landing_page,lead_source,"
                     "campaign_type\nbrand_search,brand,google,,brand*,,,,\ncompetitor_search,,google,,222,,,,\n"
                     "paid_search,,,cpc,,,,,\n")
    result = CliRunner().invoke(main, ["import", "spend", str(DATA / "google_ads_api.json"), "--format",
                                       "google_ads", "--lake", str(tmp_path / "lake")],
                                env={"TOUCHLINE_CHANNEL_RULES": str(rules)})
    channels.use_channel_rules(None)
    assert result.exit_code == 0, result.output
    assert {(row[2], row[4], row[5]) for row in spend_rows(tmp_path / "lake")} == {
        ("111", "brand_search", "brand"), ("222", "competitor_search", None)}


def test_invalid_rows_are_named_file_row_field_problem_and_nothing_lands(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,campaign_id,campaign_name,channel,subchannel,amount,currency,clicks,impressions\n"
                   "2026-01-10,c1,One,events,,100,EUR,,\n"
                   "2026-13-10,c2,Two,events,,100,EUR,,\n"
                   "2026-01-11,c3,Three,tv,,-5,EURO,1.5,\n"
                   "2026-01-12,,Four,events,,10,USD,,\n")
    result = CliRunner().invoke(main, ["import", "spend", str(bad), "--format", "csv", "--lake",
                                       str(tmp_path / "lake")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(bad))]
    assert lines == [
        f"{bad}:3: date: month must be in 1..12",
        f"{bad}:4: amount: '-5' must be a number of at least 0; currency: 'EURO' is not an ISO 4217 currency code; "
        "channel: 'tv' is not a channel the channel rules declare",
        f"{bad}:5: campaign_id: required field is missing",
    ]
    assert not Lake(str(tmp_path / "lake")).files("spend")
    partial = CliRunner().invoke(main, ["import", "spend", str(bad), "--format", "csv", "--partial", "--lake",
                                        str(tmp_path / "lake")])
    assert partial.exit_code == 0 and [row[2] for row in spend_rows(tmp_path / "lake")] == ["c1"]


def test_a_file_of_another_shape_is_refused_with_what_it_lacks(tmp_path):
    result = CliRunner().invoke(main, ["import", "spend", str(DATA / "meta_ads.csv"), "--format", "ga4_cost",
                                       "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 2
    assert "not a ga4_cost report: no line holds its columns (date, utm_source, utm_medium, amount)" in result.output
