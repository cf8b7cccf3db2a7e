"""The backfill and replay on a distributed runner: Beam's DaskRunner on a Dask cluster of worker processes,
every table row for row the DirectRunner's."""

import json
import shutil

import pytest
from click.testing import CliRunner
from dask.distributed import LocalCluster

from streams.cli import main
from tests.beam.test_backfill import every_column
from transforms.generator import GeneratorSettings, generate

TABLES = ("touches", "journey_touches", "sla_breaches", "dead_letters")


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as running:
        yield running


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory):
    """Bad lines, exact copies, a tracker's retries (another clock) and touches sent out of order."""
    settings = GeneratorSettings(accounts=120, seed=11, duplicate_rate=0.04, resend_rate=0.04, late_rate=0.05,
                                 invalid_rate=0.03)
    raw = tmp_path_factory.mktemp("raw") / "raw.jsonl"
    raw.write_text("\n".join(json.dumps(e.record) if e.record else e.raw for e in generate(settings)) + "\n")
    return raw


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def on_direct(raw_file, tmp_path_factory):
    lake = tmp_path_factory.mktemp("direct") / "lake"
    run("backfill", "--input", str(raw_file), "--lake", str(lake))
    return lake


def test_the_backfill_on_dask_lands_every_table_as_the_direct_runner(raw_file, on_direct, cluster, tmp_path):
    lake = tmp_path / "lake"
    tasks_before = cluster.scheduler.transition_counter
    run("backfill", "--input", str(raw_file), "--lake", str(lake), "--runner", "DaskRunner",
        f"--dask_client_address={cluster.scheduler_address}", "--dask_npartitions=4")
    assert cluster.scheduler.transition_counter > tasks_before  # the cluster's workers ran it
    for table in TABLES:
        direct = every_column(on_direct, table)
        assert direct, table  # bad lines, breaches and touches are all there to compare
        assert every_column(lake, table) == direct, table


def test_a_replay_on_a_local_dask_cluster_rebuilds_what_the_direct_runner_does(on_direct, tmp_path):
    direct, dask = tmp_path / "direct", tmp_path / "dask"
    shutil.copytree(on_direct, direct)
    shutil.copytree(on_direct, dask)
    run("replay", "--lake", str(direct), "--dormancy-days", "30")
    output = run("replay", "--lake", str(dask), "--dormancy-days", "30", "--runner", "DaskRunner", "--workers", "2")
    assert "on DaskRunner" in " ".join(output.split())
    assert every_column(dask, "journey_touches") != every_column(on_direct, "journey_touches")  # the replay moved rows
    for table in ("journey_touches", "sla_breaches"):
        assert every_column(dask, table) == every_column(direct, table), table
