"""confluent-kafka (librdkafka) clients for the pipeline's hot path.

kafka-python stays for administration and the smoke check; the stages move every record
through these, which produce and consume an order of magnitude faster on this machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient

from streams.settings import Settings


def librdkafka_security(settings: Settings) -> dict[str, Any]:
    """``TOUCHLINE_KAFKA_*`` security settings in librdkafka's terms."""
    config: dict[str, Any] = {"security.protocol": settings.kafka_security_protocol.lower()}
    if settings.kafka_sasl_mechanism:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username or ""
        if settings.kafka_sasl_password:
            config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_ssl_cafile:
        config["ssl.ca.location"] = str(settings.kafka_ssl_cafile)
    return config


def produce_waiting(producer: Producer, topic: str, value: bytes, key: bytes | None = None, **options: Any) -> None:
    """Produce one record; while the local queue is full, let deliveries drain and try again."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, **options)
            return
        except BufferError:
            producer.poll(0.05)


#: How many records a producer holds undelivered (``queue.buffering.max.messages``, set by :func:`fast_producer`,
#: whose byte limit is librdkafka's largest: the count is the one limit :func:`produce_in_order` makes room under).
QUEUE_LIMIT = 100_000


def produce_in_order(producer: Producer, topic: str, messages: list[dict[str, Any]],
                     on_delivery: Callable[[Any, Any], None] | None = None) -> None:
    """Produce records (dicts of ``key`` and ``value``) in their order, in one call per queue-full of them.

    One call takes the topic's locks once for all of them (a call per record cost a stage a sixth of its
    CPU at saturation); room is made first, so no record is refused for a full queue and none overtakes
    another. A record refused for anything else (too large, say) raises, as :func:`produce_waiting` does.
    ``on_delivery(error, message)`` hears of each record's delivery (``error`` None) or its failure.
    """
    for start in range(0, len(messages), QUEUE_LIMIT // 2):
        chunk = messages[start:start + QUEUE_LIMIT // 2]
        while len(producer) + len(chunk) > QUEUE_LIMIT:
            producer.poll(0.05)
        if producer.produce_batch(topic, chunk, on_delivery=on_delivery) < len(chunk):
            error = next(message["_error"] for message in chunk if "_error" in message)
            raise KafkaException(error)


def fast_producer(bootstrap: str, settings: Settings, **overrides: Any) -> Producer:
    """A producer batching for throughput; records keep their order per partition."""
    return Producer({
        "bootstrap.servers": bootstrap,
        "linger.ms": 5,
        "acks": 1,
        "enable.idempotence": False,  # the embedded broker has no InitProducerId
        "compression.type": "lz4",
        "queue.buffering.max.messages": QUEUE_LIMIT,
        "queue.buffering.max.kbytes": 2_147_483_647,
        "log_level": 3,
        **librdkafka_security(settings),
        **overrides,
    })


def fast_consumer(bootstrap: str, settings: Settings, group_id: str | None, **overrides: Any) -> Consumer:
    """A consumer that commits only when told to; without a group it reads by assignment."""
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group_id or f"touchline-reader-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "fetch.wait.max.ms": 100,
        "log_level": 3,
        **librdkafka_security(settings),
        **overrides,
    })


def topic_epoch(bootstrap: str, settings: Settings, topic: str) -> str:
    """The topic's identity (its topic id): a topic deleted and created again, or on a new broker, has a new one."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3, **librdkafka_security(settings)})
    (future,) = admin.describe_topics(TopicCollection([topic]), request_timeout=30).values()
    return str(future.result().topic_id).replace("/", "_").replace("+", "-")  # base64 made safe for file names
