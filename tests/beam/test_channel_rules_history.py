"""A team's own channel rules through the batch paths: `backfill` and `stitch` accept the channels the rules
declare and land the same rows; `replay --channel-rules` moves history to the new buckets in one commit."""

from __future__ import annotations

import json

import duckdb
from click.testing import CliRunner

from schemas import channels
from sinks.attribution import attribute
from sinks.lake import Lake
from streams.commands import main

RULES = """channel,subchannel,utm_source,utm_medium,utm_campaign,referrer,landing_page,lead_source,campaign_type
linkedin_ads,sponsored_content,linkedin,cpc,,,,,
g2,,,,,*g2.com,,,
paid_search,,,cpc,,,,,
direct,,,,,,,,
"""
ACCOUNT = {"source": "segment:web", "account_id": "acct-1", "team": "marketing"}
TOUCHES = [  # as the collector landed them under the shipped rules
    {"event_id": "v1", "event_type": "site_visit", "occurred_at": "2026-03-01T10:00:00Z", "channel": "paid_social",
     "utm": {"source": "linkedin", "medium": "cpc"}, "properties": {"url": "https://acme.example/pricing"}},
    {"event_id": "v2", "event_type": "form_fill", "occurred_at": "2026-03-02T10:00:00Z", "channel": "referral",
     "properties": {"referrer": "https://www.g2.com/products/acme"}},
    {"event_id": "w1", "event_type": "closed_won", "occurred_at": "2026-03-09T10:00:00Z", "opportunity_id": "o1",
     "amount": 900.0, "currency": "USD", "team": "sales"},
]


def run(*args: str, **env: str):
    result = CliRunner(env=env).invoke(main, list(args))
    channels.use_channel_rules(None)
    assert result.exit_code == 0, result.output
    return result


def journey(lake):
    files = Lake(str(lake)).files("journey_touches")
    return duckdb.connect().execute("select event_id, channel, subchannel from read_parquet(?) order by event_id",
                                    [files]).fetchall()


def test_replay_with_channel_rules_moves_history_to_the_new_buckets_in_one_commit(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(json.dumps({**ACCOUNT, **touch}) for touch in TOUCHES))
    lake = tmp_path / "lake"
    run("backfill", "--input", str(raw), "--lake", str(lake))
    assert journey(lake) == [("v1", "paid_social", None), ("v2", "referral", None), ("w1", None, None)]
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES)
    before = Lake(str(lake)).version("journey_touches")
    run("replay", "--lake", str(lake), "--channel-rules", str(rules))
    assert journey(lake) == [("v1", "linkedin_ads", "sponsored_content"), ("v2", "g2", None), ("w1", None, None)]
    assert Lake(str(lake)).version("journey_touches") == before + 1
    credited = {row.value: row.revenue for row in attribute(str(lake), ["linear"], "closed_won", "channel")}
    assert credited == {"linkedin_ads": 450.0, "g2": 450.0, "(unattributed)": 0.0}
    by_sub = {row.value: row.revenue for row in attribute(str(lake), ["linear"], "closed_won", "subchannel")}
    assert by_sub["sponsored_content"] == 450.0


def test_backfill_and_stitch_accept_a_declared_channel_and_agree(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(json.dumps({**ACCOUNT, **touch, **({"channel": "g2"} if touch["event_id"] == "v2"
                                                                 else {})}) for touch in TOUCHES))
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES + "paid_social,,,,,,,,\nreferral,,,,,,,,\n")
    run("backfill", "--input", str(raw), "--lake", str(tmp_path / "refused"))
    dead = Lake(str(tmp_path / "refused")).files("dead_letters")
    assert duckdb.connect().execute("select reason from read_parquet(?)", [dead]).fetchall() == [
        ("channel: unknown value 'g2'",)]
    run("backfill", "--input", str(raw), "--lake", str(tmp_path / "backfilled"), TOUCHLINE_CHANNEL_RULES=str(rules))
    run("stitch", str(raw), "--lake", str(tmp_path / "stitched"), "-o", str(tmp_path / "out.jsonl"),
        TOUCHLINE_CHANNEL_RULES=str(rules))
    assert journey(tmp_path / "backfilled") == journey(tmp_path / "stitched") == [
        ("v1", "paid_social", None), ("v2", "g2", None), ("w1", None, None)]
