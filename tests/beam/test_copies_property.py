"""A property over generated populations with copies that differ (a tracker's retries: received later, an
earlier event time): any permutation of the records gives the same ``touches``, ``journey_touches``,
``sla_breaches`` and attribution through ``touchline stitch --lake`` and the Beam backfill (transforms.admission's
one rule in both). Small populations and few examples: each example runs two backfills' worth of engines."""

import json

from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sinks.lake import Lake
from streams.cli import main
from tests.beam.test_backfill import every_column
from tests.integration.pipeline import attribution_totals
from transforms.generator import GeneratorSettings, generate

TABLES = ("touches", "journey_touches", "sla_breaches")


def run(command: list[str]) -> None:
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output


def lake_of(lake):
    return {table: every_column(lake, table) if Lake(lake).files(table) else [] for table in TABLES}, \
        attribution_totals(lake)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), resend_rate=st.sampled_from([0.1, 0.25, 0.5]), order=st.randoms())
def test_any_permutation_of_records_with_differing_copies_lands_the_same_through_stitch_and_backfill(
        tmp_path_factory, seed, resend_rate, order):
    emitted = list(generate(GeneratorSettings(accounts=8, seed=seed, days=120, resend_rate=resend_rate,
                                              duplicate_rate=0.05)))
    records = [json.dumps(e.record) for e in emitted if e.record is not None and not e.malformed]
    resent = sum(e.duplicate for e in emitted)
    assert resent > 0 and len({r for r in records}) > len({json.loads(r)["event_id"] for r in records})  # copies differ
    assume(len({(json.loads(r)["source"], json.loads(r)["event_id"]) for r in records}) > 50)  # enough to compare
    folder = tmp_path_factory.mktemp("permutation")
    lakes = {}
    for name, shuffled in (("stitch", records), ("stitch-shuffled", None), ("backfill-shuffled", None)):
        if shuffled is None:
            shuffled = records[:]
            order.shuffle(shuffled)
        path = folder / f"{name}.jsonl"
        path.write_text("\n".join(shuffled) + "\n")
        lake = folder / name
        run(["stitch", str(path), "--lake", str(lake), "-o", "/dev/null"] if name.startswith("stitch")
            else ["backfill", "--input", str(path), "--lake", str(lake)])
        lakes[name] = lake_of(lake)
    first = lakes["stitch"]
    assert len(first[0]["touches"]) > 50 and first[1]  # the engines landed them, and credited conversions
    for name in ("stitch-shuffled", "backfill-shuffled"):
        for table in TABLES:
            assert lakes[name][0][table] == first[0][table], (name, table)
        assert lakes[name][1] == first[1], name
