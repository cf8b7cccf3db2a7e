"""Producing raw touches to ``touches-raw-v1``."""

from __future__ import annotations

from collections.abc import Iterable

from streams import topics
from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.librdkafka_clients import fast_producer, produce_waiting
from streams.settings import Settings


def produce_raw(lines: Iterable[bytes], bootstrap: str, settings: Settings | None = None) -> int:
    """Send each line as one record of ``touches-raw-v1``; return how many were sent."""
    settings = settings or Settings()
    create_topics(bootstrap, [topics.TOUCHES_RAW], 1, settings)
    producer = fast_producer(bootstrap, settings)
    sent = 0
    for line in lines:
        produce_waiting(producer, topics.TOUCHES_RAW, line)
        sent += 1
    if producer.flush(120) > 0:
        raise RuntimeError("not every record reached the broker within 120 s")
    return sent
