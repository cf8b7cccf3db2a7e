"""Benchmark: a bounded load test of the collector on 127.0.0.1, through to the lake.

Sends Segment `/v1/batch` requests at a fixed rate for a fixed time (open loop: a slow answer
does not slow the sender), retrying refused or failed requests as Segment's libraries do,
then waits until every accepted event has landed. Prints accepted requests/s and events/s,
the p50/p99 latency of accepted requests, retries, and accepted vs landed events.

    .venv/bin/python benchmarks/collector_load.py [--rate 200] [--batch 10] [--seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Load:
    """What a load run sent and what the collector answered."""

    requests: int = 0
    accepted: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    seconds: float = 0.0  # from the first request sent to the last answer
    sending_seconds: float = 0.0  # from the first request sent to the last

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    def summary(self) -> str:
        return (f"{self.accepted / self.seconds:,.1f} accepted requests/s ({len(self.event_ids) / self.seconds:,.0f} "
                f"events/s) for {self.seconds:.0f} s ({self.requests / self.sending_seconds:,.1f} requests/s sent); "
                f"latency p50 {self.percentile(0.5) * 1000:.1f} ms, p99 {self.percentile(0.99) * 1000:.1f} ms, "
                f"max {max(self.latencies, default=0) * 1000:.0f} ms; {self.retries} retries (target: 2,000 events/s "
                "with p99 ≤ 250 ms, every event landed)")


def batch(request: int, size: int) -> dict[str, object]:
    """One request's Segment batch: ``size`` page views of distinct visitors of a few accounts."""
    return {"batch": [{"type": "page", "messageId": f"load-{request}-{i}", "anonymousId": f"v-{request % 997}-{i}",
                       "timestamp": "2026-03-01T10:00:00Z", "context": {"groupId": f"acct-{request % 101}"}}
                      for i in range(size)], "sentAt": "2026-03-01T10:00:01Z"}


async def _send(session: aiohttp.ClientSession, url: str, request: int, size: int, load: Load) -> None:
    body = batch(request, size)
    while True:
        started = time.perf_counter()
        try:
            async with session.post(url, json=body) as response:
                await response.read()
                if response.status == 200:
                    load.latencies.append(time.perf_counter() - started)
                    load.accepted += 1
                    load.event_ids.update(str(m["messageId"]) for m in body["batch"])  # type: ignore[index]
                    return
                if response.status < 500:
                    raise RuntimeError(f"request {request}: HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError):
            pass
        load.retries += 1
        await asyncio.sleep(0.2)


async def _drive(url: str, key: str, rate: float, seconds: float, size: int) -> Load:
    load = Load()
    headers = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}  # Segment's scheme
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=10)) as session:
        loop = asyncio.get_running_loop()
        started = loop.time()
        tasks = []
        while loop.time() - started < seconds:
            due = started + load.requests / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(_send(session, url, load.requests, size, load)))
            load.requests += 1
        load.sending_seconds = loop.time() - started
        await asyncio.gather(*tasks)
        load.seconds = loop.time() - started
    return load


def drive(port: int, key: str, *, rate: float, seconds: float, size: int = 10) -> Load:
    """Send ``rate`` requests/s of ``size`` events for ``seconds``; every request is retried until accepted."""
    return asyncio.run(_drive(f"http://127.0.0.1:{port}/v1/batch", key, rate, seconds, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--batch", type=int, default=10, help="events per request")
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()

    from streams.runtime.broker import EmbeddedBroker
    from streams.runtime.landed import landed_counts
    from streams.runtime.worker import Worker
    from streams.settings import Settings
    from tests.faults.harness import KEY, Collector

    print(f"machine: {platform.machine()}, {platform.python_version()}; rate {args.rate:g} req/s × {args.batch} "
          f"events for {args.seconds:g} s")
    with tempfile.TemporaryDirectory() as scratch, EmbeddedBroker() as broker:
        root = Path(scratch)
        worker = Worker(broker.bootstrap, Settings(lake=root / "lake", catalog=root / "c.duckdb")).start()
        collector = Collector(broker.bootstrap, root / "collector.log").start()
        try:
            load = drive(collector.port, KEY, rate=args.rate, seconds=args.seconds, size=args.batch)
            print(f"collector: {load.summary()}")
            print(f"rate held: {load.requests / load.seconds:,.1f} of {args.rate:g} requests/s scheduled")
            deadline = time.monotonic() + 300
            while landed_counts(worker.lake)["touches"] < len(load.event_ids) and time.monotonic() < deadline:
                time.sleep(1)
            landed = landed_counts(worker.lake)["touches"]
            print(f"landed: {landed:,} of {len(load.event_ids):,} accepted events")
        finally:
            collector.stop()
            worker.close()


if __name__ == "__main__":
    main()
