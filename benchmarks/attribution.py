"""Benchmark: every attribution model over a large generated lake, and Markov on Data.csv.

Builds a lake with `stitch` over --base generated touches, then replicates it --copies times
with distinct account ids (so the models see --base × --copies touches), and prints the time of
the rule-based models together, of Markov (path extraction + exact solve) and of Shapley.
Then exact Markov on the 10,000-path Data.csv next to ChannelAttribution's markov_model when that
package is importable (it is GPL and not a dependency: `pip install ChannelAttribution`).

    .venv/bin/python benchmarks/attribution.py [--base 1000000] [--copies 10]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb
from deltalake import write_deltalake

from sinks.attribution import RULE_BASED, open_lake, paths
from sinks.lake import Lake
from sinks.tables import TABLES
from transforms.gc_pause import paused_gc
from transforms.generator import GeneratorSettings, generate
from transforms.markov import markov
from transforms.paths import parse_paths
from transforms.shapley import shapley
from transforms.stitching import stitch
from transforms.types import Touch


def build_lake(root: Path, base: int, copies: int, commits: int = 1) -> int:
    """A lake of about ``base`` × ``copies`` journey touches (copies under distinct account ids), landed
    in ``commits`` appends (each adds a file per event date: the small files a stream leaves)."""
    with paused_gc():
        touches = [Touch.from_wire(e.record) for e in generate(GeneratorSettings(accounts=int(base / 17.6), seed=2))
                   if e.record is not None]
        rows = [r.to_row() for r in stitch(touches).rows]
    staging = Lake(root / "staging")
    staging.replace("journey_touches", rows, description="benchmark")
    connection = duckdb.connect()
    lake = Lake(root / "lake")
    lake.create("journey_touches")
    for commit in range(commits):
        replicas = range(commit, copies, commits)
        if not replicas:
            continue
        copied = connection.sql(
            "select * exclude (copy) replace (account_id || '-' || copy as account_id, "
            "event_id || '-' || copy as event_id) "
            "from read_parquet($files, hive_partitioning = true), (select unnest($copies) as copy)",
            params={"files": staging.files("journey_touches"), "copies": list(replicas)}).to_arrow_table()
        write_deltalake(lake.uri("journey_touches"), copied.cast(TABLES["journey_touches"].table_schema),
                        mode="append", partition_by=["event_date"])
    return len(rows) * copies


def timed(label: str, work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    print(f"{label:<52} {time.perf_counter() - started:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        journey_rows = timed("setup: generate, stitch, replicate", lambda: build_lake(Path(tmp), args.base,
                                                                                        args.copies))
        print(f"lake: {journey_rows:,} journey touches")
        connection = timed("session: read the lake",
                           lambda: open_lake(Path(tmp) / "lake", conversion="closed_won"))
        timed(f"rule-based models together ({len(RULE_BASED)})", lambda: connection.execute(
            "select model, channel, sum(credit), sum(revenue_credit) from attribution_credits "
            "where conversion_type = 'closed_won' group by all").fetchall())
        found = timed("paths for the data-driven models (closed_won)",
                      lambda: [path for _, path in paths(connection, "closed_won", "channel")])
        timed("markov (exact, on those paths)", lambda: markov(found))
        timed("shapley (exact, on those paths)", lambda: shapley(found))
        connection.close()

    source = importlib.resources.files("mta") / "data" / "data.csv.gz"
    with gzip.open(source, "rt") as handle:
        data = parse_paths(handle.read().splitlines())
    timed("markov on Data.csv (10,000 paths), Touchline exact", lambda: markov(data))
    try:
        import pandas as pd
        from ChannelAttribution import markov_model  # type: ignore[import-not-found]
    except ImportError:
        print("ChannelAttribution not installed: its markov_model time is not measured in this run")
        return
    frame = pd.DataFrame({"path": [" > ".join(p.channels) for p in data],
                          "total_conversions": [p.conversions for p in data],
                          "total_conversion_value": [p.value for p in data],
                          "total_null": [p.nulls for p in data]})
    timed("markov on Data.csv, ChannelAttribution (simulated)", lambda: markov_model(
        frame, "path", "total_conversions", var_value="total_conversion_value", var_null="total_null"))


if __name__ == "__main__":
    main()
