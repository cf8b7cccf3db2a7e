"""Evidence for the Faust question: does a Faust agent lose input when a partition changes hands?

Each round starts a fresh embedded broker, fills a 4-partition topic with ``--events``
records, and runs Faust workers (faust-streaming, one process each) whose agents carry every
record's coordinates to an output topic: by default in the shape of the stitch stage (re-keyed
by account through a topic, counted in a Faust table, then emitted); ``--shape forward``
emits each record as it is read. Mid-stream the round changes who owns the partitions:

* ``kill``: two workers share the group; one is SIGKILLed and started again (takeover);
* ``rebalance``: one worker runs; a second joins, then leaves with SIGTERM (two rebalances).

When the output has stopped growing, the round counts the input records that never reached
it: **skipped**. The agent carries the guards the issue asked for: it dedupes by source
offset, and it checks every partition for an offset gap against the last offset it forwarded
(the in-process guard; a gap across a takeover is only visible downstream, which is what the
count is). ``--guard delivery`` adds the third: each send waits for the broker's
acknowledgement, so no offset can be committed ahead of its outputs. Nothing else is
forwarded or transformed, so any skip is the runtime's.

    .venv/bin/python benchmarks/faust_takeover.py [--rounds 10] [--events 10000]
        [--scenario kill,rebalance] [--shape stage|forward] [--guard none|delivery]

The stages stay on librdkafka unless this prints 0 skipped for every round of both scenarios.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from streams.runtime.broker import EmbeddedBroker
from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.librdkafka_clients import fast_consumer, fast_producer
from streams.settings import Settings

SOURCE, OUTPUT = "takeover-in", "takeover-out"
APP = '''
import sys
import faust

bootstrap, group, source_topic, output_topic, shape, guard = sys.argv[1:7]
app = faust.App(group, broker=f"kafka://{bootstrap}", store="memory://", web_enabled=False,
                broker_session_timeout=6, broker_heartbeat_interval=1, topic_partitions=4,
                producer_max_batch_size=1,  # the embedded broker's high-watermark bug (streams/runtime/broker.py)
                broker_commit_interval=0.5)
source = app.topic(source_topic, value_serializer="raw", key_serializer="raw")
output = app.topic(output_topic, value_serializer="raw", key_serializer="raw")
counts = app.Table("touches_by_account", default=int, partitions=4)
forwarded = {}  # partition -> last offset forwarded


async def send(topic, key, value):
    """Send; with the delivery guard, wait until the broker has the record before reading on."""
    pending = await topic.send(key=key, value=value)
    if guard == "delivery":
        await pending


def admit(partition, offset):
    """The guards: dedupe by source offset; report an offset gap in what this process saw."""
    last = forwarded.get(partition)
    if last is not None and offset <= last:
        return False
    if last is not None and offset > last + 1:
        print(f"GAP partition {partition}: {last + 1}..{offset - 1} never seen", file=sys.stderr, flush=True)
    forwarded[partition] = offset
    return True


@app.agent(source)
async def forward(stream):
    async for event in stream.events():
        partition, offset = event.message.partition, event.message.offset
        if not admit(partition, offset):
            continue
        coordinates = f"{partition}:{offset}".encode()
        if shape == "forward":
            await send(output, event.key, coordinates)
        else:  # like stitch-journeys: re-key by account, count in a table, then emit
            await send(by_account, event.key, coordinates)


by_account = app.topic(f"{group}-by-account", value_serializer="raw", key_serializer="raw", partitions=4)


@app.agent(by_account)
async def stitch(stream):
    async for event in stream.events():
        counts[event.key.decode()] += 1
        await send(output, event.key, event.value)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()
'''


class Workers:
    """Faust worker processes of one group, logging to one file."""

    def __init__(self, bootstrap: str, folder: Path, shape: str, guard: str) -> None:
        self.bootstrap, self.folder, self.shape, self.guard = bootstrap, folder, shape, guard
        self.script = folder / "takeover_app.py"
        self.script.write_text(APP)
        self.log = folder / "faust.log"
        self.group = f"takeover-{uuid.uuid4().hex[:8]}"

    def start(self) -> subprocess.Popen[bytes]:
        workdir = self.folder / f"worker-{uuid.uuid4().hex[:6]}"  # each worker its own data dir
        workdir.mkdir()
        command = [sys.executable, str(self.script), self.bootstrap, self.group, SOURCE, OUTPUT, self.shape, self.guard]
        return subprocess.Popen(command, cwd=workdir, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def gaps(self) -> int:
        return self.log.read_text(errors="replace").count("GAP partition")


def forwarded(bootstrap: str) -> set[str]:
    """Every distinct ``partition:offset`` in the output topic."""
    consumer = fast_consumer(bootstrap, Settings(), None)
    consumer.assign([TopicPartition(OUTPUT, 0, OFFSET_BEGINNING)])
    seen: set[str] = set()
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 3:
        messages = consumer.consume(5000, 0.5)
        for message in messages:
            if not message.error():
                seen.add(message.value().decode())
        if messages:
            idle_since = time.monotonic()
    consumer.close()
    return seen


def wait_until_still(bootstrap: str, expected: int, timeout: float) -> set[str]:
    """The output once it holds every record or has not grown for 20 s."""
    deadline, last, still_since = time.monotonic() + timeout, -1, time.monotonic()
    while True:
        seen = forwarded(bootstrap)
        if len(seen) != last:
            last, still_since = len(seen), time.monotonic()
        if len(seen) >= expected or time.monotonic() - still_since > 20 or time.monotonic() > deadline:
            return seen


def one_round(scenario: str, events: int, shape: str, guard: str) -> tuple[int, int]:
    """(skipped input records, gaps the in-process guard saw) for one round."""
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as folder:
        create_topics(broker.bootstrap, [SOURCE], 4)
        create_topics(broker.bootstrap, [OUTPUT], 1)
        producer = fast_producer(broker.bootstrap, Settings())
        for i in range(events):
            producer.produce(SOURCE, key=str(i % 97).encode(), value=str(i).encode())
            producer.poll(0)
        producer.flush()
        workers = Workers(broker.bootstrap, Path(folder), shape, guard)
        running = [workers.start()]
        try:
            if scenario == "kill":
                running.append(workers.start())
                time.sleep(12)  # both joined and forwarding
                running[0].send_signal(signal.SIGKILL)
                running[0].wait()
                running[0] = workers.start()
            else:
                time.sleep(10)
                joiner = workers.start()  # a rebalance in
                time.sleep(10)
                joiner.send_signal(signal.SIGTERM)  # and one out
                joiner.wait(30)
            seen = wait_until_still(broker.bootstrap, events, timeout=240)
        finally:
            for process in running:
                process.kill()
                process.wait()
        return events - len(seen), workers.gaps()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--scenario", default="kill,rebalance")
    parser.add_argument("--shape", default="stage", choices=["stage", "forward"],
                        help="stage: re-key by account through a topic, count in a Faust table, emit "
                             "(the shape of stitch-journeys); forward: emit each record as it is read")
    parser.add_argument("--guard", default="none", choices=["none", "delivery"],
                        help="delivery: every send waits for the broker's acknowledgement before the agent "
                             "reads on (outputs delivered before the offset can be committed)")
    args = parser.parse_args()
    import faust  # the extra: pip install -e '.[faust]'

    print(f"faust-streaming {faust.__version__}, {os.cpu_count()} cores, {args.events:,} records a round, "
          f"agents shaped as '{args.shape}', guard '{args.guard}'")
    for scenario in args.scenario.split(","):
        exact = 0
        for round_ in range(1, args.rounds + 1):
            skipped, gaps = one_round(scenario, args.events, args.shape, args.guard)
            exact += skipped == 0
            print(f"{scenario} round {round_}: skipped {skipped:,} of {args.events:,} input records; "
                  f"in-process gap guard fired {gaps} time(s)", flush=True)
        print(f"{scenario}: {exact} of {args.rounds} rounds exact")


if __name__ == "__main__":
    main()
