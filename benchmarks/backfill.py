"""Benchmark: the Beam backfill over ~1M generated touches, with 1 and 2 workers, on the DirectRunner and
on Beam's DaskRunner (a local Dask cluster of that many worker processes).

Prints touches/s from raw JSON Lines to the lake (touches, journey_touches, dead_letters).

    .venv/bin/python benchmarks/backfill.py [--touches 1000000] [--workers 1,2] [--runners DirectRunner,DaskRunner]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from streams.runtime.beam_runner import run_pipeline
from streams.services.backfill import beam_arguments
from streams.settings import Settings
from transforms.generator import GeneratorSettings, generate
from transforms.settings import JourneySettings


def _cpu_seconds() -> float:
    """User + system time of this process and of its finished children (Beam's worker processes)."""
    return sum(getattr(resource.getrusage(who), kind) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for kind in ("ru_utime", "ru_stime"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--runners", default="DirectRunner,DaskRunner")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.jsonl"
        events = list(generate(GeneratorSettings(accounts=int(args.touches / 17.6), seed=6)))
        with raw.open("w") as handle:
            for event in events:
                handle.write((json.dumps(event.record) if event.record else event.raw or "") + "\n")
        count = len(events)
        del events  # the backfill's processes, not the generator's million objects, are measured
        print(f"input: {count:,} raw touches")
        for runner in args.runners.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                lake = Path(tmp) / f"lake-{runner}-{workers}"
                with beam_arguments(runner, workers, ()) as beam_args:  # a Dask cluster starts before the clock
                    cpu_before = _cpu_seconds()
                    started = time.perf_counter()
                    run_pipeline([str(raw)], Settings().lake_settings(str(lake)), JourneySettings(),
                                 beam_args=beam_args)
                    seconds = time.perf_counter() - started
                cpu = _cpu_seconds() - cpu_before  # Dask's worker processes are counted once their cluster closed
                print(f"backfill, {runner}, {workers} worker(s): {seconds:.1f} s = {count / seconds:,.0f} "
                      f"touches/s ({cpu:.0f} CPU-s, {cpu / seconds:.2f} cores busy; target ≥ 50,000 touches/s "
                      "on 2 cores)")


if __name__ == "__main__":
    main()
