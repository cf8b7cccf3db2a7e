"""Benchmark: alert latency, from a record reaching its topic to its signed webhook arriving.

``--mode pipeline`` (the default): the whole pipeline. Starts the embedded broker (unless
TOUCHLINE_KAFKA_BOOTSTRAP), a ``touchline worker --alert-rules`` process (every stage, the alerts
stage among them) with rules on ``lead``, ``stage_change`` (to ``close``) and ``sla_breach`` to a local webhook
receiver that answers 200, and feeds ``touches-raw-v1`` generated touches at --touch-rate (2,000/s)
for --seconds. Each alert is measured from its source record's broker timestamp (the
``journey-transitions-v1`` or ``sla-breaches-v1`` message that raised it: the ``record_at`` of its
``alerts-v1`` row) to the receiver getting it. Prints p50/p99/max per alert type and overall.

``--mode stage``: the send-alerts stage alone, and a local receiver that answers 200; produces --records
breach records at --rate records/s (each record's produce time is written into it), and measures, per
record, the time from its produce to the arrival of its webhook. Prints p50/p99/max and the delivered rate.

Then ``touchline push salesforce`` throughput: a stitched lake of --push-accounts generated accounts,
pushed (models w_shaped and linear) to a local server answering the sObject Collections upsert;
prints records/s of the first push and the time of the rerun (which sends nothing).

    .venv/bin/python benchmarks/alerts.py [--mode pipeline] [--seconds 20] [--touch-rate 2000] [--push-accounts 500]
    .venv/bin/python benchmarks/alerts.py --mode stage [--records 2000] [--rate 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, Producer

from schemas.alert_rules import parse_rules
from streams import topics
from streams.runtime.broker import open_broker
from streams.runtime.stage_process import create_pipeline_topics
from streams.settings import Settings
from streams.stages.send_alerts import SendAlertsRunner
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
    parser.add_argument("--mode", choices=("pipeline", "stage"), default="pipeline")
    parser.add_argument("--seconds", type=float, default=20.0, help="pipeline: how long touches are fed")
    parser.add_argument("--touch-rate", type=float, default=2000.0, help="pipeline: touches produced per second")
    parser.add_argument("--settle-seconds", type=float, default=15.0,
                        help="pipeline: the worker's time to start and join its groups before the feed")
    parser.add_argument("--records", type=int, default=2000, help="stage: breach records produced")
    parser.add_argument("--rate", type=float, default=200.0, help="stage: breach records produced per second")
    parser.add_argument("--push-accounts", type=int, default=500, help="accounts of the lake pushed (0: no push)")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.mode == "pipeline":
        pipeline_latency(args)
    else:
        alert_latency(args)
    if args.push_accounts:
        push_throughput(args.push_accounts)


def push_throughput(accounts: int) -> None:
    from click.testing import CliRunner

    from sinks.lake import Lake
    from streams.cli import main as touchline
    from streams.services.stitch import write_lake
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
                time.sleep(max(0.0, min(due - time.monotonic(), 0.005)))
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
    print(f"{len(latencies)} of {args.records} alerts delivered at {args.rate:g} records/s "
          f"({len(latencies) / (ended - began):.0f} alerts/s over the run)")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"record on topic → webhook received: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"p50 {statistics.median(ordered) * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, "
            f"max {ordered[-1] * 1000:,.0f} ms")


def record_times(bootstrap: str) -> dict[str, float]:
    """alert id -> its source record's broker timestamp (Unix seconds), from the ``alerts-v1`` rows."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-alerts-{time.time_ns()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 3})
    consumer.subscribe([topics.ALERTS])
    times: dict[str, float] = {}
    quiet = deadline = time.monotonic() + 60
    while time.monotonic() < deadline and time.monotonic() - quiet < 5:  # read, then 5 s with nothing new
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        quiet = time.monotonic()
        row = json.loads(message.value() or b"{}")
        if row.get("record_at") and row.get("alert_id") and row["alert_id"] not in times:
            times[row["alert_id"]] = datetime.fromisoformat(row["record_at"].replace("Z", "+00:00")).timestamp()
    consumer.close()
    return times


def pipeline_latency(args: argparse.Namespace) -> None:
    from streams.runtime.librdkafka_clients import fast_producer
    from streams.services.generate import wire_line
    from transforms.generator import GeneratorSettings, generate

    total = int(args.touch_rate * args.seconds)
    lines = [wire_line(e) for e in generate(GeneratorSettings(accounts=max(1, int(total / 17.6)), seed=5))][:total]
    receiver = Receiver()
    root = Path(tempfile.mkdtemp(prefix="touchline-alerts-pipeline-bench-"))
    rules = root / "rules.toml"
    rules.write_text(f'[[destination]]\nname = "hook"\nkind = "webhook"\nurl = "{receiver.url}/in"\n'
                     f'secret = "{SECRET}"\n\n'
                     + "".join(f'[[rule]]\non = "{on}"\nto = ["hook"]\n\n' for on in ("lead", "sla_breach"))
                     + '[[rule]]\non = "stage_change"\nto_stage = "close"\nto = ["hook"]\n')
    with open_broker(os.environ.get("TOUCHLINE_KAFKA_BOOTSTRAP")) as broker:
        lake = root / "lake"
        settings = Settings(lake=str(lake))
        create_pipeline_topics(broker.bootstrap, settings)
        env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": broker.bootstrap, "TOUCHLINE_LAKE": str(lake),
               "TOUCHLINE_CATALOG": str(root / "touchline.duckdb"), "TOUCHLINE_ALERT_RULES": str(rules)}
        log = root / "worker.log"
        worker = subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env, stdout=log.open("ab"),
                                  stderr=subprocess.STDOUT)
        try:
            time.sleep(args.settle_seconds)  # interpreter start and consumer-group joins: not an alert's wait
            if worker.poll() is not None:
                raise RuntimeError("the worker stopped:\n" + log.read_text()[-3000:])
            producer = fast_producer(broker.bootstrap, settings, **{"linger.ms": 1})
            produced: dict[str, float] = {}  # touch event id -> when it was produced to touches-raw-v1
            events = [str(json.loads(line).get("event_id")) if line.startswith(b"{") else None for line in lines]
            began = time.monotonic()
            for number, line in enumerate(lines):
                due = began + number / args.touch_rate
                while time.monotonic() < due:
                    time.sleep(max(0.0, min(due - time.monotonic(), 0.005)))
                event = events[number]
                if event is not None:
                    produced.setdefault(event, time.time())
                producer.produce(topics.TOUCHES_RAW, value=line)
                producer.poll(0)
            producer.flush(30)
            fed = time.monotonic() - began
            seen, quiet = -1, time.monotonic()
            while time.monotonic() - quiet < 10 and time.monotonic() - began < fed + 180:
                if len(receiver.requests) != seen:  # until no alert has arrived for 10 s
                    seen, quiet = len(receiver.requests), time.monotonic()
                time.sleep(0.2)
            sources = record_times(broker.bootstrap)
        finally:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    offset = time.time() - time.monotonic()  # the receiver notes arrivals on the monotonic clock
    by_type: dict[str, list[float]] = {}
    from_touch: list[float] = []  # a lead or a stage change: from its touch's produce, the whole pipeline
    for (_, _, _, body), arrived in zip(receiver.requests, receiver.times, strict=True):
        message = json.loads(body)
        source = sources.get(message["data"]["alert_id"])
        if source is not None:
            by_type.setdefault(message["type"], []).append(arrived + offset - source)
        touch = message["data"]["happened"].get("event_id") if message["type"] in ("lead", "stage_change") else None
        if touch is not None and str(touch) in produced:
            from_touch.append(arrived + offset - produced[str(touch)])
    receiver.close()
    everything = [value for values in by_type.values() for value in values]
    print(f"whole worker fed {len(lines):,} generated touches at {len(lines) / fed:,.0f}/s for {fed:.1f} s: "
          f"{len(receiver.requests):,} webhooks received, {len(sources):,} alerts started")
    for kind, values in sorted(by_type.items()):
        print(f"  {kind}: {len(values):,} alerts, source record on its topic → webhook received: {percentiles(values)}")
    if everything:
        print(f"  all: {len(everything):,} alerts, {percentiles(everything)}; "
              f"within 5 s: {sum(v <= 5 for v in everything) / len(everything):.1%}")
    if from_touch:
        print(f"  lead and stage_change alerts from their touch's produce to touches-raw-v1 (the whole pipeline): "
              f"{len(from_touch):,} alerts, {percentiles(from_touch)}")


if __name__ == "__main__":
    main()
