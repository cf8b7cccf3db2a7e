"""The hand-written peer for benchmarks/stream.py: a minimal Faust agent that re-keys and counts.

Run by the benchmark as a subprocess:
    python benchmarks/faust_baseline.py BOOTSTRAP TOPIC COUNT [DIR]
It prints `processed COUNT in SECONDS` once COUNT events went through its table.
"""

from __future__ import annotations

import sys
import time

import faust

bootstrap, topic_name, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = faust.App(
    "touchline-faust-baseline",
    broker=f"kafka://{bootstrap}",
    store="memory://",
    web_enabled=False,
    broker_session_timeout=6,
    broker_heartbeat_interval=1,
    producer_max_batch_size=1,  # the embedded broker's high-watermark bug (see streams/runtime/broker.py)
    topic_partitions=4,
)
raw = app.topic(topic_name, value_serializer="json")
counts = app.Table("counts_by_account", default=int, partitions=4)
state = {"seen": 0, "started": 0.0}


def account_of(event: dict) -> str:  # type: ignore[type-arg]
    """The new key; the clock starts at the first source record read, before the re-key."""
    state["started"] = state["started"] or time.monotonic()
    return event.get("account_id") or event.get("anonymous_id") or "none"


@app.agent(raw)
async def count_by_account(stream):  # type: ignore[no-untyped-def]
    async for event in stream.group_by(account_of, name="rekeyed"):
        key = event.get("account_id") or event.get("anonymous_id") or "none"
        counts[key] += 1
        state["seen"] += 1
        if state["seen"] == expected:
            print(f"processed {expected} in {time.monotonic() - state['started']:.3f}", flush=True)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn", "--without-web"]
    app.main()
