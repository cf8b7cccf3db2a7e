"""Benchmark: batch `stitch` over ~1M generated touches on one core.

Prints touches/s for the whole `stitch` (dedupe, identity resolution, sort, fold) and for its
phases, plus the streaming runner (`stream`) for comparison. Target: >= 150k touches/s.

    .venv/bin/python benchmarks/stitch.py [--touches 1000000]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time

from transforms.admission import dedupe
from transforms.gc_pause import paused_gc
from transforms.generator import GeneratorSettings, generate
from transforms.identity import resolve_all
from transforms.stitching import fold_journey, stitch, stream
from transforms.types import Touch

TOUCHES_PER_ACCOUNT = 17.6  # what the generator makes per account-year, measured


def timed(label: str, count: int, work):  # type: ignore[no-untyped-def]
    gc.collect()
    started = time.perf_counter()
    with paused_gc():  # as `touchline stitch` runs it
        result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<38} {seconds:7.2f} s  {count / seconds:>10,.0f} touches/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    accounts = int(args.touches / TOUCHES_PER_ACCOUNT)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    with paused_gc():
        emitted = generate(GeneratorSettings(accounts=accounts, seed=args.seed))
        touches = [Touch.from_wire(e.record) for e in emitted if e.record is not None]
    print(f"generated {len(touches):,} touches for {accounts:,} accounts in {time.perf_counter() - started:.1f} s")
    n = len(touches)

    gc.freeze()  # the input stays alive throughout, as it does in `touchline stitch`
    result = timed("stitch (all phases)", n, lambda: stitch(touches))
    print(f"  -> {len(result.rows):,} journey touches, {len(result.unresolved):,} unresolved")
    unique = timed("  dedupe", n, lambda: dedupe(touches))
    resolved, _, _ = timed("  resolve identity", n, lambda: resolve_all(unique))
    timed("  group by account", n, lambda: resolved.sort(key=lambda p: p[0]))

    def fold_all() -> int:
        count, start = 0, 0
        while start < len(resolved):
            account = resolved[start][0]
            end = start
            while end < len(resolved) and resolved[end][0] == account:
                end += 1
            count += len(fold_journey(account, [t for _, t in resolved[start:end]])[1])
            start = end
        return count

    timed("  fold journeys", n, fold_all)
    timed("stream (one by one, windowed)", n, lambda: stream(touches))


if __name__ == "__main__":
    main()
