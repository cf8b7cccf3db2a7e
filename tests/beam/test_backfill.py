"""The Beam backfill and replay: the same transforms, the same lake."""

import itertools
import json
import re
import shutil
from datetime import timedelta

import apache_beam as beam
import duckdb
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from click.testing import CliRunner
from deltalake import DeltaTable

from batches.columns import unpack
from sinks.lake import Lake
from sinks.tables import TABLES
from streams.cli import main
from tests.integration.pipeline import COMPARED, attribution_totals, expected, lake_rows, lake_strings, population
from transforms.beam.backfill import ParseTouches
from transforms.identity import IDENTITY_FIELDS
from transforms.privacy import pseudonymize_email
from transforms.stitching import stitch
from transforms.types import Touch

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def test_parse_touches_routes_bad_lines_to_dead_letters():
    good = json.dumps({"event_id": "e1", "source": "s", "event_type": "site_visit",
                       "occurred_at": "2026-01-01T00:00:00Z", "anonymous_id": "a"})
    with BeamTestPipeline() as pipeline:
        parsed = (pipeline | beam.Create([("batch-1", [good.encode(), b"{nope", b""])])
                  | ParseTouches(TABLES["touches"].schema))
        assert_that(parsed.touches | beam.FlatMap(lambda packed: unpack(packed)["event_id"].to_pylist()),
                    equal_to(["e1"]), label="touches")
        assert_that(parsed.dead_letters | beam.FlatMap(lambda named: [(named[0], d["reason"][:15]) for d in named[1]]),
                    equal_to([("batch-1", "$: not valid JS")]), label="dead")


@pytest.fixture(scope="module")
def events():
    return population(6000, seed=9)


@pytest.fixture(scope="module")
def raw_file(events, tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw") / "raw.jsonl"
    raw.write_bytes(b"\n".join((e.record and json.dumps(e.record).encode()) or e.raw.encode() for e in events))
    return raw


def backfill(raw_file, lake, **env):
    result = CliRunner(env=env).invoke(main, ["backfill", "--input", str(raw_file), "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    return lake


@pytest.fixture(scope="module")
def backfilled(raw_file, tmp_path_factory):
    return backfill(raw_file, tmp_path_factory.mktemp("backfill") / "lake")


def count(lake, table, expression):
    files = Lake(lake).files(table)
    return duckdb.connect().execute(f"select {expression} from read_parquet(?)", [files]).fetchone()[0]


def test_backfill_lands_what_the_stream_and_stitch_land(events, backfilled):
    valid, malformed, journey_rows = expected(events)
    assert lake_rows(backfilled) == journey_rows  # and the stream's lake equals stitch: test_pipeline.py
    assert count(backfilled, "touches", "count(distinct (source, event_id))") == valid
    assert count(backfilled, "touches", "count(*)") == valid
    assert count(backfilled, "dead_letters", "count(*)") == malformed


@pytest.fixture(scope="module")
def touches_file(events, tmp_path_factory):
    touches = tmp_path_factory.mktemp("touches") / "touches.jsonl"
    touches.write_text("\n".join(json.dumps(e.record) for e in events if not e.malformed))
    return touches


def stitch_into(touches_file, lake, **env):
    result = CliRunner(env=env).invoke(main, ["stitch", str(touches_file), "--lake", str(lake), "-o", "/dev/null"])
    assert result.exit_code == 0, result.output
    return lake


@pytest.fixture(scope="module")
def stitched(touches_file, tmp_path_factory):
    return stitch_into(touches_file, tmp_path_factory.mktemp("stitched") / "lake")


def every_column(lake, table):
    """Every row of a table's current version, every column, as sorted tuples."""
    return sorted(duckdb.connect().execute(
        "select * from read_parquet(?, hive_partitioning = true)", [Lake(lake).files(table)]).fetchall(), key=repr)


@pytest.mark.parametrize("table", ["touches", "journey_touches", "sla_breaches"])
def test_backfill_writes_the_rows_the_sink_writes(backfilled, stitched, table):
    # `stitch --lake` writes through the streaming sink's row builder: every column must agree.
    rows = every_column(backfilled, table)
    assert rows == every_column(stitched, table)
    assert len(rows) > (5000 if table != "sla_breaches" else 20)


def test_replay_writes_the_sla_breaches_stitch_writes(backfilled, stitched, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(backfilled, lake)
    shutil.rmtree(lake / "sla_breaches")  # a lake the stream or an older release wrote: replay writes it anew
    result = CliRunner().invoke(main, ["replay", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    rows = every_column(lake, "sla_breaches")
    assert rows == every_column(stitched, "sla_breaches")
    answered = [row for row in rows if row[TABLES["sla_breaches"].schema.names.index("answered_at")] is not None]
    assert 0 < len(answered) < len(rows)  # answered late, and never answered


def test_backfill_gives_the_same_attribution_as_stitch(backfilled, stitched):
    outputs = []
    for lake in (backfilled, stitched):
        result = CliRunner().invoke(main, ["attribute", "--lake", str(lake), "--model", "all", "--format", "csv"])
        assert result.exit_code == 0, result.output
        outputs.append(sorted(result.output.splitlines()))
    assert outputs[0] == outputs[1]


def test_replay_after_changing_dormancy_changes_exactly_the_affected_accounts(events, backfilled):
    before = {row[0]: row for row in lake_rows(backfilled)}
    result = CliRunner().invoke(main, ["replay", "--lake", str(backfilled), "--dormancy-days", "30"])
    assert result.exit_code == 0, result.output
    after = {row[0]: row for row in lake_rows(backfilled)}
    assert before.keys() == after.keys()
    changed = {after[e][COMPARED.index("account_id")] for e in after if after[e] != before[e]}

    touches = [Touch.from_wire(e.record) for e in events if not e.malformed and e.record]
    by_account = {}
    for row in stitch(touches).rows:
        by_account.setdefault(row.account_id, []).append(row.touch.occurred_at)
    gapped = {account for account, times in by_account.items()
              if any(timedelta(days=30) <= b - a < timedelta(days=90) for a, b in itertools.pairwise(times))}
    assert changed == gapped
    assert changed  # the test means something only if some accounts had such gaps


def test_replay_after_forget_keeps_every_touch_and_dollar(backfilled, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(backfilled, lake)
    assert CliRunner().invoke(main, ["replay", "--lake", str(lake)]).exit_code == 0  # default settings, whatever ran
    before, credited = lake_rows(lake), attribution_totals(lake)
    # Someone whose touches carry nothing but their own identifiers: erased, they name no account.
    email = count(lake, "touches", "min(email) filter (where account_id is null and account_domain is null)")
    result = CliRunner().invoke(main, ["forget", "--email", email, "--lake", str(lake), "--requested-by", "test"])
    assert result.exit_code == 0, result.output
    nameless = count(lake, "touches", f"count(*) filter (where coalesce({', '.join(IDENTITY_FIELDS)}) is null)")
    assert nameless > 0
    result = CliRunner().invoke(main, ["replay", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert lake_rows(lake) == before
    assert attribution_totals(lake) == credited


def test_a_backfill_with_a_salt_lands_no_email_in_clear(events, raw_file, touches_file, tmp_path):
    records = [e.record for e in events if isinstance(e.record, dict)]
    emails = {r["email"].lower() for r in records if "@" in str(r.get("email"))}
    lake = backfill(raw_file, tmp_path / "lake", TOUCHLINE_EMAIL_HASH_SALT="pepper")
    text = "\n".join(lake_strings(lake)).lower()
    assert [email for email in emails if email in text] == []
    assert len(set(re.findall(r"h:[0-9a-f]{32}@[\w.-]+", text))) >= len(emails)  # pseudonyms are there instead
    assert lake_rows(lake) == expected(events)[2]  # same domains, same people: the same journeys
    stitched = stitch_into(touches_file, tmp_path / "stitched", TOUCHLINE_EMAIL_HASH_SALT="pepper")
    for table in ("touches", "journey_touches"):  # the columnar pseudonyms are the sink's, value for value
        assert every_column(lake, table) == every_column(stitched, table)


@pytest.mark.parametrize("salt", [None, "pepper"])
def test_after_forget_neither_backfill_nor_stitch_brings_them_back(events, raw_file, touches_file, tmp_path, salt):
    env = {"TOUCHLINE_EMAIL_HASH_SALT": salt} if salt else {}
    # Someone also named in a malformed line: the dead letters must not bring them back either.
    valid_emails = {str(e.record.get("email")).lower() for e in events if not e.malformed and e.record}
    named = sorted(email for e in events if e.malformed for email in EMAIL.findall(e.raw or json.dumps(e.record))
                   if email.lower() in valid_emails)
    assert named
    landed_as = pseudonymize_email(named[0], salt) if salt else named[0]
    lake = backfill(raw_file, tmp_path / "lake", **env)
    assert "\n".join(lake_strings(lake)).lower().count(landed_as) > 1
    forgotten = CliRunner(env=env).invoke(main, ["forget", "--email", named[0], "--lake", str(lake)])
    assert forgotten.exit_code == 0, forgotten.output
    assert landed_as not in "\n".join(lake_strings(lake)).lower()
    backfill(raw_file, lake, **env)  # history again, from the raw files that still name them
    assert landed_as not in "\n".join(lake_strings(lake)).lower()
    assert lake_rows(lake) == expected(events)[2]  # identity saw them; the journeys are whole
    stitch_into(touches_file, lake, **env)
    assert landed_as not in "\n".join(lake_strings(lake)).lower()


def test_the_backfill_runs_as_a_beam_program_with_its_own_argv(events, raw_file, tmp_path):
    from streams.runtime.beam_runner import run

    lake = tmp_path / "lake"
    run(["--input", str(raw_file), "--lake", str(lake), "--direct_running_mode=in_memory"])
    assert lake_rows(lake) == expected(events)[2]
    run(["--replay", "--lake", str(lake), "--dormancy-days", "30"])
    assert lake_rows(lake) != expected(events)[2]  # re-stitched with other rules
    journeys = DeltaTable(Lake(lake).uri("journey_touches"))
    replay, backfill_commit = journeys.history()[:2]
    assert (replay["touchline"], replay["operationParameters"]["mode"]) == ("touchline replay", "Overwrite")
    assert backfill_commit["touchline"] == "touchline backfill"
    before = DeltaTable(journeys.table_uri, version=backfill_commit["version"]).to_pyarrow_table()
    assert before.num_rows == len(expected(events)[2])  # time travel: the backfill's rows, before the replay
    with pytest.raises(SystemExit):
        run(["--lake", str(lake)])  # neither --input nor --replay


def test_an_input_that_matches_nothing_leaves_the_lake_alone(backfilled, tmp_path):
    lake = tmp_path / "lake"
    shutil.copytree(backfilled, lake)
    touches, version = count(lake, "touches", "count(*)"), Lake(lake).version("touches")
    result = CliRunner().invoke(main, ["backfill", "--input", str(tmp_path / "typo-*.jsonl"), "--lake", str(lake)])
    assert result.exit_code == 2 and "typo-*.jsonl" in result.output and "matches no file" in result.output
    assert count(lake, "touches", "count(*)") == touches and Lake(lake).version("touches") == version
    assert Lake(lake).unreferenced("touches") == []
    result = CliRunner().invoke(main, ["replay", "--lake", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no touches to replay" in result.output


@pytest.mark.parametrize("split", [1, 7, 64, 10_000])
def test_byte_ranges_read_every_line_exactly_once(tmp_path, monkeypatch, split):
    from streams.runtime import beam_runner as backfill

    lines = [f'{{"n": {i}, "pad": "{"x" * (i % 13)}"}}'.encode() for i in range(500)]
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b"\n".join(lines))  # no newline at the end, on purpose
    monkeypatch.setattr(backfill, "SPLIT_BYTES", split)
    monkeypatch.setattr(backfill, "BATCH_LINES", 50)
    ranges = list(backfill._ranges(str(path)))
    assert len(ranges) == -(-path.stat().st_size // split)
    read = [line for split_range in ranges for _, batch in backfill._read_range(split_range) for line in batch]
    assert read == lines


def test_replay_names_custom_events_with_a_new_event_map(tmp_path):
    touch = {"source": "segment:web", "account_id": "acct-1", "team": "marketing"}
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(json.dumps({**touch, **fields}) for fields in (
        {"event_id": "v1", "event_type": "site_visit", "occurred_at": "2026-03-01T10:00:00Z"},
        {"event_id": "c1", "event_type": "custom:Pricing Calculator Used", "occurred_at": "2026-03-01T10:05:00Z"},
        {"event_id": "c2", "event_type": "custom:Invite Sent", "occurred_at": "2026-03-01T10:10:00Z"})))
    lake = backfill(raw, tmp_path / "lake")
    names = tmp_path / "events.toml"
    names.write_text('[events]\n"pricing calculator used" = "form_fill"\n')

    def journey():
        files = Lake(lake).files("journey_touches")
        return duckdb.connect().execute("select event_id, event_type, stage, is_lead_touch from read_parquet(?) "
                                        "order by occurred_at", [files]).fetchall()

    assert journey() == [("v1", "site_visit", "find", False), ("c1", "custom:Pricing Calculator Used", "find", False),
                         ("c2", "custom:Invite Sent", "find", False)]
    result = CliRunner().invoke(main, ["replay", "--lake", str(lake), "--event-map", str(names)])
    assert result.exit_code == 0, result.output
    assert journey() == [("v1", "site_visit", "find", False), ("c1", "form_fill", "engage", True),
                         ("c2", "custom:Invite Sent", "engage", False)]
