"""Benchmark: every attribution model over a large generated lake, and Markov on Data.csv.

Builds a lake with `stitch` over --base generated touches, then replicates it --copies times
with distinct account ids (so the models see --base × --copies touches), and prints the time of
the rule-based models together, of Markov (path extraction + exact solve) and of Shapley.
Then exact Markov of each order (1 to 4) on those paths and on the 10,000-path Data.csv, next to
ChannelAttribution's markov_model when that package is importable (it is GPL and not a dependency:
`pip install ChannelAttribution`); the bootstrap intervals (--resamples, default 200) on Data.csv
scaled to --journeys journeys (default 1,000,000); and `evaluate` (every model against the truth)
on a lake of --causal-accounts accounts from `generate --causal`, replicated --causal-copies times
with distinct account ids as the first lake is (each copy has the same truth, so the true shares
are one copy's; default 20,000 × 40: about 10M journey touches).

    .venv/bin/python benchmarks/attribution.py [--base 1000000] [--copies 10] [--journeys 1000000]
        [--resamples 200] [--causal-accounts 20000] [--causal-copies 40]
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
from sinks.evaluation import EVALUATED, EVALUATED_MODELS, evaluate
from sinks.lake import Lake
from sinks.tables import TABLES
from transforms.bootstrap import credit_intervals
from transforms.causal import CausalSettings, simulate
from transforms.gc_pause import paused_gc
from transforms.generator import GeneratorSettings, generate
from transforms.markov import ORDERS, markov
from transforms.paths import ChannelPath, parse_paths
from transforms.shapley import shapley
from transforms.stitching import stitch
from transforms.types import Touch


def build_lake(root: Path, base: int, copies: int, commits: int = 1) -> int:
    """A lake of about ``base`` × ``copies`` journey touches (copies under distinct account ids), landed
    in ``commits`` appends (each adds a file per event date: the small files a stream leaves)."""
    with paused_gc():
        touches = [Touch.from_wire(e.record) for e in generate(GeneratorSettings(accounts=int(base / 17.6), seed=2))
                   if e.record is not None]
    return replicated(root, touches, copies, commits)


def replicated(root: Path, touches: list[Touch], copies: int, commits: int = 1) -> int:
    """The touches stitched into ``root/lake``, ``copies`` times under distinct account ids: how many journey
    touches it holds."""
    with paused_gc():
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
    print(f"{label:<100} {time.perf_counter() - started:7.2f} s")
    return result


def causal_lake(root: Path, accounts: int, copies: int) -> None:
    """`generate --causal`, stitched into a lake ``copies`` times, then `evaluate` every model against the truth."""
    run = timed(f"setup: generate --causal, {accounts:,} accounts", lambda: simulate(CausalSettings(accounts)))
    touches = timed("setup: stitch, replicate", lambda: replicated(root, [Touch.from_wire(r) for r in run.records],
                                                                   copies))
    print(f"causal lake: {accounts:,} accounts × {copies} copies, {touches:,} journey touches")
    found = timed(f"evaluate on those {touches:,} touches (read the lake, {len(EVALUATED_MODELS)} models × "
                  f"{len(EVALUATED)} conversion types, Markov fits of orders {ORDERS[0]}-{ORDERS[-1]})",
                  lambda: evaluate(root / "lake", run.truth))
    best = [s for s in found.scores if s.conversion == "closed_won" and s.basis == "conversions"]
    print("closed_won share error, best first: " + ", ".join(f"{s.model} {s.total_absolute_error:.3f}"
                                                              for s in best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--causal-accounts", type=int, default=20_000)
    parser.add_argument("--causal-copies", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        journey_rows = timed("setup: generate, stitch, replicate", lambda: build_lake(Path(tmp), args.base,
                                                                                        args.copies))
        print(f"lake: {journey_rows:,} journey touches")
        connection = timed("session: read the lake",
                           lambda: open_lake(Path(tmp) / "lake", conversion="closed_won"))
        timed(f"rule-based models together ({len(RULE_BASED)}), closed_won", lambda: connection.execute(
            "select model, channel, sum(credit), sum(revenue_credit) from attribution_credits "
            "where conversion_type = 'closed_won' group by all").fetchall())
        found = timed("paths for the data-driven models (closed_won)",
                      lambda: [path for _, path in paths(connection, "closed_won", "channel")])
        print(f"paths: {len(found):,} distinct, {sum(p.conversions + p.nulls for p in found):,.0f} journeys")
        for order in ORDERS:
            timed(f"markov order {order}, exact, on those {len(found):,} distinct paths",
                  lambda order=order: markov(found, order))
        timed(f"shapley, exact, on those {len(found):,} distinct paths", lambda: shapley(found))
        connection.close()
        causal_lake(Path(tmp) / "causal", args.causal_accounts, args.causal_copies)

    source = importlib.resources.files("mta") / "data" / "data.csv.gz"
    with gzip.open(source, "rt") as handle:
        data = parse_paths(handle.read().splitlines())
    for order in ORDERS:
        timed(f"markov order {order} on Data.csv ({len(data):,} distinct paths), exact",
              lambda order=order: markov(data, order))
    scale = args.journeys / sum(p.conversions + p.nulls for p in data)
    scaled = [(None, ChannelPath(p.channels, round(p.conversions * scale), p.value * scale, round(p.nulls * scale)))
              for p in data]
    journeys = sum(p.conversions + p.nulls for _, p in scaled)
    for model in ("markov", "shapley"):
        timed(f"{model} intervals, {args.resamples} resamples: Data.csv scaled to {journeys:,.0f} journeys "
              f"({len(data):,} distinct paths)", lambda model=model: credit_intervals(scaled, model,
                                                                                      resamples=args.resamples))
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
    timed(f"markov on Data.csv ({len(data):,} distinct paths), ChannelAttribution (simulated)", lambda: markov_model(
        frame, "path", "total_conversions", var_value="total_conversion_value", var_null="total_null"))


if __name__ == "__main__":
    main()
