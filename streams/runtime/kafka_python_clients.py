"""kafka-python clients configured the one way Touchline uses them (including SASL/TLS)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.runtime.librdkafka_clients import librdkafka_security
from streams.settings import Settings

# A group join on the embedded broker takes about half the session timeout: keep it short.
GROUP_TIMEOUTS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


#: librdkafka's name of each security option → kafka-python's.
_KAFKA_PYTHON_NAMES = {"security.protocol": "security_protocol", "sasl.mechanism": "sasl_mechanism",
                       "sasl.username": "sasl_plain_username", "sasl.password": "sasl_plain_password",
                       "ssl.ca.location": "ssl_cafile"}


def security_config(settings: Settings) -> dict[str, Any]:
    """SASL/TLS options passed through from ``TOUCHLINE_KAFKA_*``: the one mapping (``librdkafka_security``)
    in kafka-python's names."""
    config = {_KAFKA_PYTHON_NAMES[name]: value for name, value in librdkafka_security(settings).items()}
    config["security_protocol"] = config["security_protocol"].upper()
    return config


def make_producer(bootstrap: str, settings: Settings | None = None, **overrides: Any) -> KafkaProducer:
    """A producer that waits for the leader's ack and batches for throughput."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": 1,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        **security_config(settings or Settings()),
        **overrides,
    }
    return KafkaProducer(**options)


def make_consumer(bootstrap: str, *topics: str, group_id: str | None,
                  settings: Settings | None = None, **overrides: Any) -> KafkaConsumer:
    """A consumer reading from the earliest offset, committing only when told to."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        **GROUP_TIMEOUTS,
        **security_config(settings or Settings()),
        **overrides,
    }
    return KafkaConsumer(*topics, **options)


def create_topics(bootstrap: str, names: Iterable[str], partitions: int,
                  settings: Settings | None = None) -> None:
    """Create the topics that do not exist yet."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **security_config(settings or Settings()))
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
    finally:
        admin.close()


def smoke_check(bootstrap: str, messages: int = 1000, timeout: float = 60.0) -> dict[str, float]:
    """Produce ``messages`` records and read them all back through a consumer group."""
    topic = f"touchline-smoke-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, [topic], partitions=2)
    started = time.monotonic()
    producer = make_producer(bootstrap)
    for i in range(messages):
        producer.send(topic, key=str(i % 7).encode(), value=str(i).encode())
    producer.flush()
    producer.close()
    consumer = make_consumer(bootstrap, topic, group_id=f"{topic}-group")
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < messages and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                seen.update(int(r.value) for r in records)
        consumer.commit()
    finally:
        consumer.close()
    if seen != set(range(messages)):
        raise RuntimeError(f"smoke check read {len(seen)} of {messages} records back from {topic}")
    return {"messages": float(messages), "seconds": time.monotonic() - started}
