"""Producing raw touches to ``touches-raw-v1``."""

from __future__ import annotations

from collections.abc import Iterable

from streams import topics
from streams.kafka_clients import create_topics, make_producer
from streams.settings import Settings


def produce_raw(lines: Iterable[bytes], bootstrap: str, settings: Settings | None = None) -> int:
    """Send each line as one record of ``touches-raw-v1``; return how many were sent."""
    settings = settings or Settings()
    create_topics(bootstrap, [topics.TOUCHES_RAW], 1, settings)
    producer = make_producer(bootstrap, settings, compression_type="lz4")
    sent = 0
    for line in lines:
        producer.send(topics.TOUCHES_RAW, value=line)
        sent += 1
    producer.flush()
    producer.close()
    return sent
