"""The second peer for benchmarks/stream.py: a quix-streams application that re-keys and counts.

The same work as benchmarks/faust_baseline.py, written the way quix-streams is meant to be used:
a StreamingDataFrame re-keyed with ``group_by`` (a repartition topic) and a count kept in its
RocksDB state (with its changelog topic, at-least-once: the library's defaults). quix-streams pins
versions of confluent-kafka and pydantic older than ours, so it runs in a venv of its own, made by
benchmarks/stream.py on first use. Run as a subprocess:

    python benchmarks/quix_baseline.py BOOTSTRAP TOPIC COUNT STATE_DIR

It prints `processed COUNT in SECONDS` once COUNT events went through its state.
"""

from __future__ import annotations

import sys
import time

from quixstreams import Application

bootstrap, topic_name, expected, state_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
app = Application(broker_address=bootstrap, consumer_group="touchline-quix-baseline",
                  auto_offset_reset="earliest", state_dir=state_dir, loglevel="WARNING")
progress = {"seen": 0, "started": 0.0}


def account_of(event: dict) -> str:  # type: ignore[type-arg]
    """The new key; the clock starts at the first source record read, before the re-key."""
    progress["started"] = progress["started"] or time.monotonic()
    return event.get("account_id") or event.get("anonymous_id") or "none"


def count(event: dict, state) -> None:  # type: ignore[no-untyped-def, type-arg]
    state.set("count", state.get("count", 0) + 1)
    progress["seen"] += 1
    if progress["seen"] == expected:
        print(f"processed {expected} in {time.monotonic() - progress['started']:.3f}", flush=True)
        app.stop()


frame = app.dataframe(app.topic(topic_name, value_deserializer="json"))
frame = frame.group_by(account_of, name="rekeyed")
frame.update(count, stateful=True)

if __name__ == "__main__":
    app.run()
