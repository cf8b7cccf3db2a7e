"""Benchmark: HubSpot webhook events the collector accepts per second, on 127.0.0.1 with the embedded broker.

Closed loop: ``--clients`` senders each post v3-signed requests of ``--batch`` events (HubSpot sends
up to 100) for ``--seconds``, each waiting for its answer (200 only once the broker acknowledged
every event). Prints requests/s, events/s, and the p50/p99 answer time against HubSpot's 5 s.

    .venv/bin/python benchmarks/hubspot_webhooks.py [--clients 8] [--batch 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.hubspot import signature_v3  # noqa: E402
from streams.broker import free_port, open_broker  # noqa: E402
from streams.collector import CollectorSettings, collector_application  # noqa: E402
from streams.settings import Settings  # noqa: E402

SECRET = "benchmark-client-secret"


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


async def run(bootstrap: str, clients: int, size: int, seconds: float) -> None:
    settings = Settings(kafka_bootstrap=bootstrap, hubspot_client_secret=SECRET)
    port = free_port()
    runner = web.AppRunner(collector_application(bootstrap, settings, CollectorSettings.read(settings)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/hubspot/webhooks"
    latencies: list[float] = []
    try:
        await sender(url, size, time.monotonic() + 1, 10**9, [])  # warm up: topic metadata, connections
        started = time.monotonic()
        counts = await asyncio.gather(*(sender(url, size, started + seconds, n * 10**8, latencies)
                                        for n in range(clients)))
        elapsed = time.monotonic() - started
    finally:
        await runner.cleanup()
    latencies.sort()
    events = sum(counts)
    print(f"{platform.node()} ({platform.machine()}, Python {platform.python_version()}): {clients} clients, "
          f"{size} events a request, {elapsed:.1f} s")
    print(f"  accepted {len(latencies):,} requests ({len(latencies) / elapsed:,.0f}/s), "
          f"{events:,} events ({events / elapsed:,.0f} events/s)")
    print(f"  answer time p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms (HubSpot waits 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    with open_broker(None) as broker:
        asyncio.run(run(broker.bootstrap, options.clients, options.batch, options.seconds))


if __name__ == "__main__":
    main()
