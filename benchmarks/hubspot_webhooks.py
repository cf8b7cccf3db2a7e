"""Benchmark: HubSpot webhook events the collector accepts per second, and the time from a webhook's arrival
to its journey row in the lake, on 127.0.0.1 with the embedded broker.

Arrival to journey row: a worker (resolve, stitch, land and the hubspot stage, one process each) reads deals
from a local CRM v3 API (tests/hubspot_server.py); ``--deals`` signed ``deal.creation`` webhooks are posted at
``--rate`` a second, one deal each, and each is timed from its POST to the first poll of the lake (every
``--poll`` seconds, reading only the files new since the last poll) that finds its ``opportunity_created`` row
in ``journey_touches``. The lake sink lands every 2 s, so that wait is part of the figure.

Accepted per second, with the worker stopped (the collector alone): ``--clients`` senders each post
v3-signed requests of ``--batch`` events (HubSpot sends up to 100) for ``--seconds``, each waiting for its
answer (200 only once the broker acknowledged every event). Prints requests/s, events/s, and the p50/p99
answer time against HubSpot's 5 s.

    .venv/bin/python benchmarks/hubspot_webhooks.py [--clients 8] [--batch 100] [--seconds 20] \
        [--deals 200] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.hubspot import signature_v3  # noqa: E402
from sinks.lake import Lake  # noqa: E402
from streams.collector.app import CollectorSettings, collector_application  # noqa: E402
from streams.runtime.broker import free_port, open_broker  # noqa: E402
from streams.runtime.worker import Worker  # noqa: E402
from streams.settings import Settings  # noqa: E402
from tests.hubspot_server import PORTAL, SECRET, TOKEN, FakeHubspot, company, deal  # noqa: E402

FIRST_DEAL = 500_000


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def batch(first: int, size: int) -> bytes:
    return json.dumps([{"eventId": first + n, "subscriptionId": 1, "portalId": 62515, "appId": 2,
                        "occurredAt": 1772445600000 + n, "subscriptionType": "deal.propertyChange",
                        "attemptNumber": 0, "objectId": 9000 + n % 500, "propertyName": "dealstage",
                        "propertyValue": "closedwon", "changeSource": "CRM"} for n in range(size)]).encode()


async def sender(url: str, size: int, until: float, offset: int, latencies: list[float]) -> int:
    accepted = 0
    async with aiohttp.ClientSession() as session:
        sent = 0
        while time.monotonic() < until:
            data = batch(offset + sent * size, size)
            timestamp = str(int(time.time() * 1000))
            headers = {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
                       "X-HubSpot-Signature-v3": signature_v3(SECRET, "POST", url, data, timestamp)}
            started = time.monotonic()
            async with session.post(url, data=data, headers=headers) as response:
                answer = await response.json()
            latencies.append(time.monotonic() - started)
            if response.status != 200:
                raise RuntimeError(f"collector answered {response.status}: {answer}")
            accepted += answer["accepted"]
            sent += 1
    return accepted


class JourneyRows:
    """The hubspot journey rows the lake holds, read from the files new since the last look."""

    def __init__(self, root: str) -> None:
        self.lake = Lake(root)
        self.connection = self.lake.connect()
        self.read: set[str] = set()
        self.event_ids: set[str] = set()

    def look(self) -> set[str]:
        new = [path for path in self.lake.files("journey_touches") if path not in self.read]
        if new:
            found = self.connection.execute("select event_id from read_parquet(?) where source = ?",
                                            [new, f"hubspot:{PORTAL}"]).fetchall()
            self.event_ids.update(event_id for (event_id,) in found)
            self.read.update(new)
        return self.event_ids


def deal_webhook(url: str, deal_id: int) -> tuple[bytes, dict[str, str]]:
    data = json.dumps([{"eventId": 7 * 10**8 + deal_id, "subscriptionId": 1, "portalId": PORTAL, "appId": 2,
                        "occurredAt": int(time.time() * 1000), "subscriptionType": "deal.creation",
                        "attemptNumber": 0, "objectId": deal_id, "changeSource": "CRM"}]).encode()
    timestamp = str(int(time.time() * 1000))
    return data, {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
                  "X-HubSpot-Signature-v3": signature_v3(SECRET, "POST", url, data, timestamp)}


async def arrival_to_row(url: str, rows: JourneyRows, deals: int, rate: float, poll: float) -> list[float]:
    """Post one signed deal.creation a deal at ``rate``/s; seconds from each POST to its row in the lake. The
    first deal warms the worker up (its stages take up their partitions) and is not timed."""
    posted: dict[str, float] = {}
    seen: dict[str, float] = {}

    async def watch(until: int) -> None:
        while len(seen) < until:
            found = await asyncio.to_thread(rows.look)
            now = time.monotonic()
            for event_id in found:
                if event_id in posted and event_id not in seen:
                    seen[event_id] = now
            await asyncio.sleep(poll)

    async with aiohttp.ClientSession() as session:
        async def send(deal_id: int) -> None:
            data, headers = deal_webhook(url, deal_id)
            posted[f"{deal_id}:created"] = time.monotonic()
            async with session.post(url, data=data, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"collector answered {response.status}: {await response.text()}")

        await send(FIRST_DEAL)
        await asyncio.wait_for(watch(1), timeout=120)
        watcher = asyncio.create_task(watch(deals + 1))
        started = time.monotonic()
        for n in range(1, deals + 1):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            await send(FIRST_DEAL + n)
    try:
        await asyncio.wait_for(watcher, timeout=120)
    except TimeoutError:
        raise RuntimeError(f"{len(seen) - 1} of {deals} journey rows landed within 120 s of the last webhook") \
            from None
    return sorted(seen[key] - posted[key] for key in posted if key != f"{FIRST_DEAL}:created")


async def run(settings: Settings, clients: int, size: int, seconds: float, deals: int, rate: float,
              poll: float) -> None:
    bootstrap = settings.kafka_bootstrap
    port = free_port()
    runner = web.AppRunner(collector_application(bootstrap, settings, CollectorSettings.read(settings)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/hubspot/webhooks"
    latencies: list[float] = []
    try:
        worker = Worker(bootstrap, settings).start()
        try:
            arrivals = await arrival_to_row(url, JourneyRows(settings.lake), deals, rate, poll)
        finally:
            worker.close()
        await sender(url, size, time.monotonic() + 1, 10**9, [])  # warm up: topic metadata, connections
        started = time.monotonic()
        counts = await asyncio.gather(*(sender(url, size, started + seconds, n * 10**8, latencies)
                                        for n in range(clients)))
        elapsed = time.monotonic() - started
    finally:
        await runner.cleanup()
    latencies.sort()
    events = sum(counts)
    print(f"{platform.node()} ({platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores)")
    print(f"  arrival to journey row: {deals} deal.creation webhooks at {rate:g}/s, worker on the embedded broker,"
          f" lake polled every {poll:g} s: p50 {percentile(arrivals, 0.5):.2f} s, "
          f"p99 {percentile(arrivals, 0.99):.2f} s, max {arrivals[-1]:.2f} s")
    print(f"  collector alone, {clients} clients, {size} events a request, {elapsed:.1f} s: "
          f"accepted {len(latencies):,} requests ({len(latencies) / elapsed:,.0f}/s), "
          f"{events:,} events ({events / elapsed:,.0f} events/s)")
    print(f"  answer time p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms (HubSpot waits 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--deals", type=int, default=200, help="webhooks timed from arrival to journey row")
    parser.add_argument("--rate", type=float, default=10.0, help="those webhooks a second")
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between looks at the lake")
    options = parser.parse_args()
    with open_broker(None) as broker, FakeHubspot() as hubspot, tempfile.TemporaryDirectory() as folder:
        for n in range(options.deals + 1):  # a company each: no deal's journey waits on another's
            hubspot.add("deals", deal(str(FIRST_DEAL + n), company=str(FIRST_DEAL + n)))
            hubspot.add("companies", company(str(FIRST_DEAL + n), f"bench{n}.example"))
        settings = Settings(kafka_bootstrap=broker.bootstrap, lake=Path(folder) / "lake",
                            catalog=Path(folder) / "touchline.duckdb", hubspot_client_secret=SECRET,
                            hubspot_token=TOKEN, hubspot_api_url=hubspot.url)
        asyncio.run(run(settings, options.clients, options.batch, options.seconds, options.deals, options.rate,
                        options.poll))


if __name__ == "__main__":
    main()
