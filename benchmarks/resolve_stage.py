"""Benchmark: the resolve stage alone on one core, without a broker.

Feeds generated raw records (retries and malformed lines included) to the ``resolve-touches``
stage exactly as its runtime does: one partition's RocksDB state store, a checkpoint every
``--commit-every`` records, outputs handed to an ``emit`` that only counts them. The figure is the
stage's own CPU cost: what it can do when the broker and the other stages have cores of their own.

    .venv/bin/python benchmarks/resolve_stage.py [--touches 200000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import tempfile
import time
from pathlib import Path

from streams.runtime.records import Record
from streams.runtime.state import Position, StateStore
from streams.services.generate import wire_line
from streams.stages.resolve_touches import ResolveTouches
from transforms.generator import GeneratorSettings, generate
from transforms.settings import JourneySettings

TOPIC = "touches-raw-v1"


def run(lines: list[bytes], commit_every: int, folder: Path) -> tuple[float, int]:
    store = StateStore(folder)
    stage = ResolveTouches(JourneySettings(), salt="bench")
    stage.open(0, store)
    emitted = [0]

    def emit(topic: str, key: bytes | None, value: bytes) -> None:
        emitted[0] += 1

    records = [Record(TOPIC, 0, offset, 1_700_000_000_000, None, line) for offset, line in enumerate(lines)]
    started = time.process_time()
    for record in records:
        stage.apply(0, record, emit)
        if (record.offset + 1) % commit_every == 0:
            stage.save(0)
            store.checkpoint(Position(1, record.offset + 1))
    stage.save(0)
    store.checkpoint(Position(1, len(lines)))
    seconds = time.process_time() - started
    store.close()
    return seconds, emitted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touches", type=int, default=200_000)
    parser.add_argument("--commit-every", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the stage's 25 costliest functions")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    events = generate(GeneratorSettings(accounts=max(1, int(args.touches / 17.6)), seed=args.seed))
    lines = [wire_line(e) for e in events]
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        seconds, emitted = run(lines, args.commit_every, Path(tmp))
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(f"resolve stage alone, one core: {len(lines):,} records in {seconds:.2f} CPU-s = "
          f"{len(lines) / seconds:,.0f} touches/s ({1e6 * seconds / len(lines):.0f} µs a record; "
          f"{emitted:,} records emitted; target ≥ 20,000 touches/s)")


if __name__ == "__main__":
    main()
