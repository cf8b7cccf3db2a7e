"""A team's own channel rules through the batch paths: `backfill` and `stitch` accept the channels the rules
declare and land the same rows; `replay --channel-rules` moves history to the new buckets in one commit."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from click.testing import CliRunner

from schemas import channels, segment
from schemas.touch import TouchEvent
from sinks.attribution import attribute
from sinks.lake import Lake
from streams.cli import main
from transforms.generator import GeneratorSettings, generate, segment_call

RULES = """channel,subchannel,utm_source,utm_medium,utm_campaign,referrer,landing_page,lead_source,campaign_type
linkedin_ads,sponsored_content,linkedin,cpc,,,,,
g2,,,,,*g2.com,,,
paid_search,,,cpc,,,,,
direct,,,,,,,,
"""
ACCOUNT = {"source": "segment:web", "account_id": "acct-1", "team": "marketing"}
TOUCHES = [  # touch/1 lines that name their channel
    {"event_id": "v1", "event_type": "site_visit", "occurred_at": "2026-03-01T10:00:00Z", "channel": "paid_social",
     "utm": {"source": "linkedin", "medium": "cpc"}, "properties": {"url": "https://acme.example/pricing"}},
    {"event_id": "v2", "event_type": "form_fill", "occurred_at": "2026-03-02T10:00:00Z", "channel": "referral",
     "properties": {"referrer": "https://www.g2.com/products/acme"}},
    {"event_id": "w1", "event_type": "closed_won", "occurred_at": "2026-03-09T10:00:00Z", "opportunity_id": "o1",
     "amount": 900.0, "currency": "USD", "team": "sales"},
]
SHIPPED = Path(channels.__file__).with_name("channel_rules.csv")
RECEIVED = datetime(2026, 3, 10, tzinfo=UTC)


def call(event_id, day, context, kind="track", **extra):
    """A Segment track call (segment.com/docs/connections/spec/track/) from account acct-1."""
    return {"type": kind, "messageId": event_id, "timestamp": f"2026-03-0{day}T10:00:00Z", "userId": "u-1",
            "context": {"groupId": "acct-1", **context}, **({"event": "Form Submitted"} if kind == "track" else {}),
            **extra}


CALLS = [  # as the collector converts them (the door's channel: paid_social, referral, partner)
    call("v1", 1, {"campaign": {"source": "linkedin", "medium": "cpc"}, "page": {"url": "https://acme.example/p"}}),
    call("v2", 2, {"page": {"referrer": "https://www.g2.com/products/acme"}}),
    call("v3", 3, {"touchline": {"channel": "partner"}, "page": {"url": "https://acme.example/partners"}}),
]
WON = {"source": "crm", "account_id": "acct-1", "team": "sales", "event_id": "w1", "event_type": "closed_won",
       "occurred_at": "2026-03-09T10:00:00Z", "opportunity_id": "o1", "amount": 900.0, "currency": "USD"}


def wire(calls):
    """The touch/1 lines the collector lands for Segment calls."""
    touches = [segment.convert(c, received_at=RECEIVED) for c in calls]
    assert all(isinstance(t, TouchEvent) for t in touches), touches
    return [json.dumps(t.to_wire()) for t in touches]


def run(*args: str, **env: str):
    result = CliRunner(env=env).invoke(main, list(args))
    channels.use_channel_rules(None)
    assert result.exit_code == 0, result.output
    return result


def journey(lake, table="journey_touches"):
    files = Lake(str(lake)).files(table)
    return duckdb.connect().execute("select event_id, channel, subchannel from read_parquet(?) order by event_id",
                                    [files]).fetchall()


def test_replay_with_channel_rules_moves_history_to_the_new_buckets_in_one_commit(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(wire(CALLS) + [json.dumps(WON)]))
    lake = tmp_path / "lake"
    run("backfill", "--input", str(raw), "--lake", str(lake))
    landed = [("v1", "paid_social", None), ("v2", "referral", None), ("v3", "partner", None), ("w1", None, None)]
    assert journey(lake) == journey(lake, "touches") == landed
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES)
    before = {table: Lake(str(lake)).version(table) for table in ("journey_touches", "touches")}
    run("replay", "--lake", str(lake), "--channel-rules", str(rules))
    moved = [("v1", "linkedin_ads", "sponsored_content"), ("v2", "g2", None), ("v3", "partner", None),
             ("w1", None, None)]  # v3's channel was the caller's: no rule moves it
    assert journey(lake) == journey(lake, "touches") == moved
    assert {table: Lake(str(lake)).version(table) for table in before} == {t: v + 1 for t, v in before.items()}
    credited = {row.value: row.revenue for row in attribute(str(lake), ["linear"], "closed_won", "channel")}
    assert credited == {"linkedin_ads": 300.0, "g2": 300.0, "partner": 300.0, "(unattributed)": 0.0}
    by_sub = {row.value: row.revenue for row in attribute(str(lake), ["linear"], "closed_won", "subchannel")}
    assert by_sub["sponsored_content"] == 300.0


def test_replay_with_the_rules_in_force_changes_no_channel(tmp_path):
    """Every input the door's rules read (context.page.referrer, a page URL, UTMs, none) and every channel the
    caller gave (the generator's context.touchline.channel) is where a replay by the same rules leaves it."""
    emitted = [e.record for e in generate(GeneratorSettings(accounts=12, seed=3)) if not e.malformed]
    rng = random.Random(2)
    generated = [segment_call(record, rng, skew_rate=0.0) for record in emitted]
    for index, generated_call in enumerate(generated):  # pages and referrers as trackers send them
        page = [{"referrer": "https://www.google.com/"}, {"url": "https://acme.example/?utm_source=x"},
                {"referrer": "https://news.example/a", "url": "https://acme.example/b"}, {}][index % 4]
        generated_call.setdefault("context", {})["page"] = page
    calls = generated + CALLS + [
        call("p1", 4, {"page": {"referrer": "https://www.bing.com/search"}}, kind="page"),
        call("p2", 4, {"campaign": {"medium": "email"}}, properties={"referrer": "https://www.google.com/"}),
        call("p3", 5, {}, properties={"url": "https://acme.example/?utm_medium=cpc"}),
        call("p4", 5, {"touchline": {"channel": "webinar", "subchannel": "q1"}, "campaign": {"medium": "cpc"}}),
        call("p5", 6, {"touchline": {"subchannel": "brand"}, "campaign": {"medium": "cpc"}}),
    ]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(wire(calls)))
    lake = tmp_path / "lake"
    run("backfill", "--input", str(raw), "--lake", str(lake))
    landed = {table: journey(lake, table) for table in ("touches", "journey_touches")}
    assert {("v2", "referral", None), ("p1", "organic_search", None), ("p4", "webinar", "q1"),
            ("p5", "paid_search", "brand")} <= set(landed["touches"])
    assert len({channel for _, channel, _ in landed["touches"]}) >= 6
    run("replay", "--lake", str(lake), "--channel-rules", str(SHIPPED))
    assert {table: journey(lake, table) for table in landed} == landed


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
