"""Benchmark: the Beam backfill over ~1M generated touches, with 1 and 2 DirectRunner workers.

Prints touches/s from raw JSON Lines to the lake (touches, journey_touches, dead_letters).

    .venv/bin/python benchmarks/backfill.py [--touches 1000000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from streams.backfill import run
from streams.commands.backfill import _beam_args
from transforms.generator import GeneratorSettings, generate
from transforms.settings import JourneySettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.jsonl"
        events = list(generate(GeneratorSettings(accounts=int(args.touches / 17.6), seed=6)))
        with raw.open("w") as handle:
            for event in events:
                handle.write((json.dumps(event.record) if event.record else event.raw or "") + "\n")
        print(f"input: {len(events):,} raw touches")
        for workers in (int(w) for w in args.workers.split(",")):
            lake = Path(tmp) / f"lake-{workers}"
            started = time.perf_counter()
            run([str(raw)], lake, JourneySettings(), beam_args=_beam_args("DirectRunner", workers, ()))
            seconds = time.perf_counter() - started
            print(f"backfill, DirectRunner, {workers} worker(s): {seconds:.1f} s = {len(events) / seconds:,.0f} "
                  "touches/s")


if __name__ == "__main__":
    main()
