"""Benchmark: alert latency, from a breach record reaching ``sla-breaches-v1`` to its signed webhook arriving.

Starts the embedded broker (unless TOUCHLINE_KAFKA_BOOTSTRAP), the send-alerts stage alone, and a local
receiver that answers 200; produces --records breach records at --rate records/s (each record's
produce time is written into it), and measures, per record, the time from its produce to the
arrival of its webhook. Prints p50/p99/max and the delivered rate.

Then ``touchline push salesforce`` throughput: a stitched lake of --push-accounts generated accounts,
pushed (models w_shaped and linear) to a local server answering the sObject Collections upsert;
prints records/s of the first push and the time of the rerun (which sends nothing).

    .venv/bin/python benchmarks/alerts.py [--records 2000] [--rate 200] [--push-accounts 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Producer

from schemas.alert_rules import parse_rules
from streams import topics
from streams.agents.send_alerts import SendAlertsRunner
from streams.broker import open_broker
from streams.settings import Settings
from streams.worker import create_pipeline_topics
from tests.stages.receivers import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def breach(number: int, sent_at: float) -> dict[str, object]:
    lead_at = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=number)
    return {"lead_event_id": f"lead-{number}", "account_id": f"acct-{number % 500}", "journey_id": "jrn",
            "lead_at": lead_at.isoformat(), "due_at": (lead_at + timedelta(hours=24)).isoformat(),
            "detected_at": (lead_at + timedelta(hours=24)).isoformat(), "lead_sla_hours": 24.0,
            "answered_at": None, "answer_event_id": None, "response_hours": None, "sent_at": sent_at}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="breach records produced per second")
    parser.add_argument("--push-accounts", type=int, default=500, help="accounts of the lake pushed (0: no push)")
    args = parser.parse_args()
    alert_latency(args)
    if args.push_accounts:
        push_throughput(args.push_accounts)


def push_throughput(accounts: int) -> None:
    from click.testing import CliRunner

    from sinks.lake import Lake
    from streams.commands import main as touchline
    from streams.commands.stitch import write_lake
    from transforms.generator import GeneratorSettings, generate
    from transforms.stitching import stitch
    from transforms.types import Touch

    root = Path(tempfile.mkdtemp(prefix="touchline-push-bench-")) / "lake"
    emitted = generate(GeneratorSettings(accounts=accounts, seed=7))
    touches = [Touch.from_wire(e.record) for e in emitted if e.record is not None and not e.malformed]
    # the deals' events as a Salesforce org sends them: push salesforce writes only salesforce:<org> deals
    touches = [t._replace(source="salesforce:00Dbench") if t.opportunity_id else t for t in touches]
    result = stitch(touches)
    write_lake(Lake(str(root)), touches, [row.to_row() for row in result.rows], result.breaches)

    def upserted(request: object, body: bytes) -> list[dict[str, object]]:
        return [{"id": f"a0B{n:015d}", "success": True, "errors": [], "created": True}
                for n, _ in enumerate(json.loads(body)["records"])]

    org = Receiver(answer=upserted)
    env = {"TOUCHLINE_SALESFORCE_INSTANCE_URL": org.url, "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "bench"}
    for run in ("first push", "rerun"):
        began = time.perf_counter()
        output = CliRunner().invoke(touchline, ["push", "salesforce", "--model", "w_shaped,linear", "--lake",
                                                str(root)], env=env).output.strip()
        elapsed = time.perf_counter() - began
        written = int(output.split(":")[1].split()[0])
        print(f"push salesforce, {run}: {output} in {elapsed:.2f} s"
              + (f" ({written / elapsed:,.0f} records/s, lake read included)" if written else ""))
    org.close()


def alert_latency(args: argparse.Namespace) -> None:
    receiver = Receiver()
    root = Path(tempfile.mkdtemp(prefix="touchline-alerts-bench-"))
    rules = parse_rules(f'[[destination]]\nname = "hook"\nkind = "webhook"\nurl = "{receiver.url}/in"\n'
                        f'secret = "{SECRET}"\n\n[[rule]]\non = "sla_breach"\nto = ["hook"]\n')
    with open_broker(os.environ.get("TOUCHLINE_KAFKA_BOOTSTRAP")) as broker:
        settings = Settings(lake=str(root / "lake"), state_dir=root / "state", state_commit_seconds=1.0)
        create_pipeline_topics(broker.bootstrap, settings)
        runner = SendAlertsRunner(broker.bootstrap, settings, rules)
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        thread.start()
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1, "log_level": 3})
        producer.produce(topics.SLA_BREACHES, json.dumps(breach(-1, time.time())).encode(), b"warm-up")
        producer.flush(30)
        while not receiver.requests:  # the stage has joined its group and delivered the first alert
            time.sleep(0.05)
        began = time.monotonic()
        for number in range(args.records):
            due = began + number / args.rate
            while time.monotonic() < due:
                time.sleep(min(due - time.monotonic(), 0.005))
            record = breach(number, time.time())
            producer.produce(topics.SLA_BREACHES, json.dumps(record).encode(), str(record["account_id"]).encode())
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 120
        while len(receiver.requests) < args.records + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        ended = time.monotonic()
        stop.set()
        thread.join(30)
    offset = time.time() - time.monotonic()  # the receiver notes arrivals on the monotonic clock
    latencies = sorted(arrived + offset - json.loads(body)["data"]["happened"]["sent_at"]
                       for (_, _, _, body), arrived in zip(receiver.requests, receiver.times, strict=True)
                       if b'"lead--1"' not in body)
    receiver.close()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(latencies)} of {args.records} alerts delivered at {args.rate:g} records/s "
          f"({len(latencies) / (ended - began):.0f} alerts/s over the run)")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"record on topic → webhook received: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
