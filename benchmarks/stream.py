"""Benchmark: the streaming pipeline end to end on the embedded broker.

Prints, on one broker and one generated population:
  * sustained throughput from touches-raw-v1 to landed Parquet, one worker and two workers
    (the raw topic is filled first, then the workers start; the clock runs from their start
    to the last journey row landed, so group joins are included);
  * p50/p99 latency from produce to landed Parquet at a fixed rate (default 2k touches/s);
  * the worker's peak RSS;
  * restart recovery of the stateful stages (resolve, stitch): after 100k and after 1M touches
    of the same accounts (history grows, accounts don't), the time from a SIGKILLed worker's
    restart until every partition is taken up and until 1,000 new touches are stitched, with the
    local stores kept and with them deleted (restored from the durable copies beside the lake);
    the stages' RSS after each history, and with the state of 1M accounts;
  * baselines on the same broker: the raw kafka-python consume rate, and two peers doing the same
    re-key + stateful count: a minimal Faust agent, and a quix-streams application (RocksDB state;
    run in a venv of its own, .venv-quix, made on first use), with one worker's ratio to each; and
    the same job on Touchline's own runtime (benchmarks/runtime_baseline.py), runtime against runtime.

    .venv/bin/python benchmarks/stream.py [--touches 100000] [--rate 2000] [--latency-seconds 20]
        [--history 100000,1000000] [--state-accounts 1000000] [--profile SECONDS]
        [--skip one,two,latency,raw,faust,quix,runtime,recovery,state]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from confluent_kafka.admin import AdminClient, NewTopic
from profiling import parents, profile_worker

from sinks.lake import Lake
from streams.runtime.broker import EmbeddedBroker
from streams.runtime.kafka_python_clients import create_topics, make_consumer
from streams.runtime.landed import landed_counts
from streams.runtime.librdkafka_clients import fast_consumer, fast_producer
from streams.runtime.processor import local_state_root
from streams.runtime.producing import produce_raw
from streams.services.generate import wire_line
from streams.settings import Settings
from transforms.generator import GeneratorSettings, generate
from transforms.types import iso

ROOT = Path(__file__).resolve().parents[1]
QUIX_VERSION = "3.28.1"


def population(touches: int, seed: int) -> tuple[list[bytes], int, int]:
    events = list(generate(GeneratorSettings(accounts=max(1, int(touches / 17.6)), seed=seed)))
    valid = sum(1 for e in events if not e.malformed and not e.duplicate)
    return [wire_line(e) for e in events], valid, sum(e.malformed for e in events)


def start_workers(count: int, bootstrap: str, lake: Path, log: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": bootstrap, "TOUCHLINE_LAKE": str(lake),
           "TOUCHLINE_CATALOG": str(lake.parent / "touchline.duckdb")}
    return [subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env, stdout=log.open("ab"),
                             stderr=subprocess.STDOUT) for _ in range(count)]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (a worker runs one process per stage)."""
    parent_of = parents()
    family, grew = {pid}, True
    while grew:
        children = {child for child, parent in parent_of.items() if parent in family} - family
        family |= children
        grew = bool(children)
    total = 0
    for member in family:
        try:
            match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{member}/status").read_text())
            total += int(match.group(1)) if match else 0
        except OSError:
            continue
    return total / 1024


def journeys_landed(lake: Path) -> int:
    return landed_counts(Lake(lake))["journey_touches"]


def throughput(workers: int, lines: list[bytes], expected_journeys: int, touches: int,
               profile: float = 0) -> float:
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        produce_raw(lines, broker.bootstrap)
        started = time.monotonic()
        processes = start_workers(workers, broker.bootstrap, lake, Path(tmp) / "worker.log")
        profiler = threading.Timer(10, profile_worker, (processes[0].pid, profile, Path(tmp) / "profiles"))
        if profile:  # sampled from 10 s in, once every stage has joined its group and is saturated
            profiler.start()
        peak = 0.0
        try:
            while journeys_landed(lake) < expected_journeys:
                peak = max([peak] + [tree_rss_mb(p.pid) for p in processes])
                if time.monotonic() - started > 900:
                    raise TimeoutError("pipeline did not finish in 15 minutes")
                time.sleep(0.25)
            seconds = time.monotonic() - started
            if profile:
                profiler.join()
        finally:
            for p in processes:
                p.kill()
                p.wait()
    print(f"pipeline, {workers} worker(s): {touches:,} touches in {seconds:.1f} s = "
          f"{touches / seconds:,.0f} touches/s end to end (peak RSS per worker {peak:.0f} MB; target ≤ 600 MB)")
    return touches / seconds


def happening_now(lines: list[bytes]) -> list[bytes]:
    """The records as live traffic: each touch's event time moved to the moment it is sent (see :func:`latency`)."""
    now = iso(datetime.now(UTC))
    return [json.dumps({**json.loads(line), "occurred_at": now}).encode() if line.startswith(b"{") else line
            for line in lines]


def latency(lines: list[bytes], rate: float, seconds: float, *, live: bool) -> None:
    """Produce → landed at a fixed rate. ``live``: touches that happen now (one date partition a commit, as a
    live stream's are); else the generated year of history replayed at that rate (each commit touches ~300)."""
    total = int(rate * seconds)
    sample = happening_now(lines[:total]) if live else lines[:total]
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        processes = start_workers(1, broker.bootstrap, lake, Path(tmp) / "worker.log")
        create_topics(broker.bootstrap, ["touches-raw-v1"], 1)
        time.sleep(8)  # let the worker join its groups before the clock starts
        producer = fast_producer(broker.bootstrap, Settings(), **{"linger.ms": 1})
        sent: dict[str, float] = {}
        started = time.monotonic()
        for i, line in enumerate(sample):
            wait = started + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            record = json.loads(line) if line.startswith(b"{") else {}
            if "event_id" in record:
                sent[record["event_id"]] = time.time()
            producer.produce("touches-raw-v1", value=line)
            producer.poll(0)
        producer.flush()
        achieved = len(sample) / (time.monotonic() - started)
        deadline = time.monotonic() + 120
        landed: dict[str, float] = {}
        while time.monotonic() < deadline:
            files = Lake(lake).files("touches")
            if files:
                rows = duckdb.connect().execute(
                    "select event_id, filename from read_parquet(?, filename = true)", [files]).fetchall()
                for event_id, filename in rows:
                    landed.setdefault(event_id, os.stat(filename).st_mtime)
            if len(landed) >= len(sent) * 0.999:
                break
            time.sleep(0.5)
        for p in processes:
            p.kill()
    delays = sorted(landed[e] - sent[e] for e in sent if e in landed)
    p50, p99 = delays[len(delays) // 2], delays[int(len(delays) * 0.99)]
    print(f"latency, {'live touches' if live else 'a year of history replayed'}, at {achieved:,.0f} touches/s "
          f"for {seconds:.0f} s (produce → touches landed in Parquet; target p99 ≤ 3 s): "
          f"p50 {p50:.2f} s, p99 {p99:.2f} s over {len(delays):,} touches")


def raw_consume_rate(lines: list[bytes]) -> None:
    with EmbeddedBroker() as broker:
        produce_raw(lines, broker.bootstrap)
        consumer = make_consumer(broker.bootstrap, "touches-raw-v1", group_id="bench-raw",
                                 max_partition_fetch_bytes=4 * 1024 * 1024)
        seen, started = 0, None
        while seen < len(lines):
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                started = started or time.monotonic()
                seen += len(records)
        seconds = time.monotonic() - (started or time.monotonic())
        consumer.close()
    print(f"baseline, raw kafka-python consume: {seen / seconds:,.0f} msg/s")


def peer_input(lines: list[bytes], topic: str, bootstrap: str) -> int:
    """The valid-JSON records on a 4-partition topic, as both peers read them; returns their count.

    The topic states its retention: quix-streams copies it onto its repartition topic, and the
    embedded broker reports only the configs a topic was created with."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 4, 1, config={"retention.ms": "-1"})]).values():
        future.result()
    producer = fast_producer(bootstrap, Settings())
    count = 0
    for line in lines:
        if line.startswith(b"{"):
            producer.produce(topic, value=line)
            producer.poll(0)
            count += 1
    producer.flush()
    return count


def peer_baseline(label: str, command: list[str], lines: list[bytes]) -> float | None:
    """Run a peer (a subprocess printing `processed N in SECONDS`) on its own broker; print its rate."""
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        count = peer_input(lines, "bench-peer-raw", broker.bootstrap)
        process = subprocess.Popen([*command, broker.bootstrap, "bench-peer-raw", str(count), tmp],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp)
        try:
            assert process.stdout is not None
            log: list[bytes] = []
            for raw in process.stdout:  # Faust sends print() to its log on stderr: both are read
                match = re.search(rb"processed (\d+) in ([\d.]+)", raw)
                if match:
                    rate = int(match[1]) / float(match[2])
                    print(f"baseline, {label} (re-key + state count): {rate:,.0f} events/s")
                    return rate
                log = [*log[-30:], raw]
            print(f"baseline, {label}: FAILED\n" + b"".join(log).decode(errors="replace"))
            return None
        finally:
            process.kill()
            process.wait()


def faust_baseline(lines: list[bytes]) -> float | None:
    return peer_baseline("minimal Faust agent", [sys.executable, str(ROOT / "benchmarks" / "faust_baseline.py")],
                         lines)


def runtime_baseline(lines: list[bytes]) -> float | None:
    return peer_baseline("the same on Touchline's runtime",
                         [sys.executable, str(ROOT / "benchmarks" / "runtime_baseline.py")], lines)


def quix_python() -> str:
    """The interpreter of the quix-streams venv (its pins clash with ours), made on first use."""
    venv = ROOT / ".venv-quix"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"quixstreams=={QUIX_VERSION}"], check=True)
    return str(python)


def quix_baseline(lines: list[bytes]) -> float | None:
    return peer_baseline(f"quix-streams {QUIX_VERSION} application",
                         [quix_python(), str(ROOT / "benchmarks" / "quix_baseline.py")], lines)


def later_years(lines: list[bytes], years: range) -> list[bytes]:
    """The same accounts' touches again for each of ``years``, a year later each time, with new ids."""
    shifted = []
    for year in years:
        for line in lines:
            record = json.loads(line)
            record["event_id"] = f"{record['event_id']}-y{year}"
            moment = datetime.fromisoformat(record["occurred_at"]) + timedelta(days=365 * year)
            record["occurred_at"] = moment.isoformat()
            shifted.append(json.dumps(record).encode())
    return shifted


STAGES = {"TOUCHLINE_STATE_COMMIT_SECONDS": "1", "TOUCHLINE_STATE_CHECKPOINT_SECONDS": "5"}


def start_stages(bootstrap: str, lake: Path, log: Path) -> subprocess.Popen[bytes]:
    """A worker running the stateful stages only (resolve, stitch): what recovery is about."""
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": bootstrap, "TOUCHLINE_LAKE": str(lake),
           "TOUCHLINE_CATALOG": str(lake.parent / "touchline.duckdb"), **STAGES}
    return subprocess.Popen([sys.executable, "-m", "streams", "worker", "--stages", "resolve,stitch"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stitched_everything(bootstrap: str) -> bool:
    """Whether both stages have committed every record of their inputs."""
    from confluent_kafka import TopicPartition

    for group, topic, partitions in (("touchline-resolve-touches", "touches-raw-v1", 1),
                                     ("touchline-stitch-journeys", "touches-by-account-v1",
                                      Settings().topic_partitions)):
        consumer = fast_consumer(bootstrap, Settings(), group)
        try:
            wanted = [TopicPartition(topic, p) for p in range(partitions)]
            committed = consumer.committed(wanted, timeout=10)
            for tp in committed:
                if tp.offset < consumer.get_watermark_offsets(tp, timeout=10)[1]:
                    return False
        finally:
            consumer.close()
    return True


def wait_stitched(bootstrap: str, worker: subprocess.Popen[bytes], timeout: float = 3600) -> float:
    started = time.monotonic()
    while not stitched_everything(bootstrap):
        if worker.poll() is not None or time.monotonic() - started > timeout:
            raise RuntimeError("the stages did not finish")
        time.sleep(0.5)
    return time.monotonic() - started


def restart(bootstrap: str, lake: Path, log: Path, stage_partitions: int) -> tuple[float, float, float, float]:
    """Start the stages: seconds until every partition is taken up and until new input is processed, the
    stages' RSS in MB, and the seconds spent opening (or restoring) state, all partitions together."""
    started = time.monotonic()
    worker = start_stages(bootstrap, lake, log)
    while log.read_text().count("took up partition") < stage_partitions:
        if worker.poll() is not None or time.monotonic() - started > 300:
            raise RuntimeError("the worker did not take up its partitions:\n" + log.read_text()[-3000:])
        time.sleep(0.02)
    ready = time.monotonic() - started
    wait_stitched(bootstrap, worker)
    processed = time.monotonic() - started
    rss = tree_rss_mb(worker.pid)
    worker.kill()
    worker.wait()
    opened = sum(float(s) for s in re.findall(r"state opened in ([\d.]+) s", log.read_text()))
    return ready, processed, rss, opened


def recovery(base: list[bytes], histories: list[int]) -> None:
    """Restart recovery of the stateful stages after growing histories of the same accounts."""
    per_year = len(base)
    for history in histories:
        years = max(1, round(history / per_year))
        with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
            lake, folder = Path(tmp) / "lake", Path(tmp)
            produce_raw(later_years(base, range(years)), broker.bootstrap)
            worker = start_stages(broker.bootstrap, lake, folder / "first.log")
            seconds = wait_stitched(broker.bootstrap, worker)
            rss = tree_rss_mb(worker.pid)
            time.sleep(6)  # a durable copy of the final state
            worker.kill()
            worker.wait()
            print(f"history of {per_year * years:,} touches ({years} year(s) of the same {per_year:,}-touch "
                  f"population): resolve + stitch in {seconds:.0f} s, their RSS {rss:.0f} MB")
            stage_partitions = 1 + Settings().topic_partitions
            for step, mode in enumerate(("local stores kept", "local stores deleted, from durable copies"), 1):
                if step == 2:
                    shutil.rmtree(local_state_root(Settings(lake=lake)))
                produce_raw(later_years(base[:1000], range(years + step - 1, years + step)), broker.bootstrap)
                ready, processed, rss, opened = restart(broker.bootstrap, lake, folder / f"restart-{step}.log",
                                                        stage_partitions)
                print(f"  restart after SIGKILL, {mode}: state of all {stage_partitions} partitions opened in "
                      f"{opened:.2f} s; every partition taken up {ready:.1f} s after the process started "
                      f"(interpreter start and group joins included), 1,000 new touches stitched at "
                      f"{processed:.1f} s (RSS {rss:.0f} MB)")


def state_rss(accounts: int) -> None:
    """RSS of the stateful stages holding the state of ``accounts`` accounts (one touch each)."""
    lines = [json.dumps({"event_id": f"a{i}", "source": "bench", "event_type": "site_visit",
                         "occurred_at": f"2026-01-{1 + i % 28:02d}T10:00:00Z", "account_id": f"acct-{i}",
                         "email": f"p{i}@acct{i}.example", "channel": "direct", "team": "marketing"}).encode()
             for i in range(accounts)]
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        produce_raw(lines, broker.bootstrap)
        worker = start_stages(broker.bootstrap, lake, Path(tmp) / "worker.log")
        started, peak = time.monotonic(), 0.0
        while not stitched_everything(broker.bootstrap):
            peak = max(peak, tree_rss_mb(worker.pid))
            if worker.poll() is not None or time.monotonic() - started > 3600:
                raise RuntimeError("the stages did not finish in an hour")
            time.sleep(1)
        seconds = time.monotonic() - started
        rss = tree_rss_mb(worker.pid)
        state = sum(f.stat().st_size for f in local_state_root(Settings(lake=lake)).rglob("*") if f.is_file())
        worker.kill()
        worker.wait()
    print(f"state of {accounts:,} accounts: resolve + stitch RSS {rss:.0f} MB at the end (peak {peak:.0f} MB), "
          f"local stores {state / 2**20:.0f} MB on disk; {accounts / seconds:,.0f} touches/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touches", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--history", default="100000,1000000", help="histories for the recovery figures")
    parser.add_argument("--state-accounts", type=int, default=1_000_000)
    parser.add_argument("--profile", type=float, default=0, metavar="SECONDS",
                        help="sample each stage process of the one-worker run with py-spy for SECONDS")
    parser.add_argument("--skip", default="",
                        help="comma-separated: one,two,latency,raw,faust,quix,runtime,recovery,state")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    lines, valid, _ = population(args.touches, args.seed)
    from transforms.stitching import stitch
    from transforms.types import Touch

    journeys = len(stitch([Touch.from_wire(json.loads(x)) for x in lines]).rows)
    print(f"population: {len(lines):,} records, {valid:,} valid distinct touches, {journeys:,} journey rows")
    if "raw" not in skip:
        raw_consume_rate(lines)
    peers = {}
    if "faust" not in skip:
        peers["Faust", 3.0] = faust_baseline(lines)
    if "quix" not in skip:
        peers["quix-streams", 1.5] = quix_baseline(lines)
    if "runtime" not in skip:
        runtime_baseline(lines)
    if "one" not in skip:
        one = throughput(1, lines, journeys, len(lines), args.profile)
        for (peer, target), rate in peers.items():
            if rate:
                print(f"one worker / {peer}: {one / rate:.2f}x (target ≥ {target}x)")
    if "two" not in skip:
        throughput(2, lines, journeys, len(lines))
    if "latency" not in skip:
        latency(lines, args.rate, args.latency_seconds, live=True)
        latency(lines, args.rate, args.latency_seconds, live=False)
    if "recovery" not in skip:
        recovery(lines, [int(h) for h in args.history.split(",")])
    if "state" not in skip:
        state_rss(args.state_accounts)


if __name__ == "__main__":
    main()
