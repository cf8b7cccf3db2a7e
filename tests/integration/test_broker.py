import socket

import pytest
from kafka import TopicPartition

from streams.runtime.broker import BrokerError, EmbeddedBroker, tansu_binary
from streams.runtime.kafka_python_clients import create_topics, make_consumer, make_producer, smoke_check

pytestmark = pytest.mark.integration


def test_smoke_produces_and_consumes_through_a_consumer_group(kafka_bootstrap):
    figures = smoke_check(kafka_bootstrap, messages=2000)
    assert figures["messages"] == 2000


def test_committed_offsets_resume_exactly(fresh_broker):
    bootstrap = fresh_broker.bootstrap
    create_topics(bootstrap, ["resume-v1"], partitions=1)
    producer = make_producer(bootstrap)
    for i in range(100):
        producer.send("resume-v1", value=str(i).encode())
    producer.flush()
    producer.close()

    first = make_consumer(bootstrap, "resume-v1", group_id="g", max_poll_records=40)
    got: list[int] = []
    while len(got) < 40:
        for records in first.poll(timeout_ms=500).values():
            got += [int(r.value) for r in records]
    first.commit()
    first.close()

    second = make_consumer(bootstrap, "resume-v1", group_id="g")
    rest: list[int] = []
    while len(got) + len(rest) < 100:
        for records in second.poll(timeout_ms=500).values():
            rest += [int(r.value) for r in records]
    second.close()
    assert got + rest == list(range(100))


def test_embedded_broker_stops_cleanly_and_frees_its_port():
    broker = EmbeddedBroker()
    port = broker.port
    broker.close()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_binary_is_verified_before_it_runs(monkeypatch):
    assert tansu_binary().is_file()
    monkeypatch.setattr("streams.runtime.broker.TANSU_SHA256", "0" * 64)
    with pytest.raises(BrokerError, match="SHA-256"):
        tansu_binary()


def test_tansu_high_watermark_bug_is_still_present(fresh_broker):
    """Canary for the embedded broker's high-watermark bug (docs/decisions/stream-runtime.md).

    After a multi-record batch Tansu reports the end offset as the batch's first offset + 1,
    so Faust table recovery misses the tail of each changelog partition (one reason the stages keep
    their state in their own stores). When this test fails, the embedded build is fixed: say so there.
    """
    bootstrap = fresh_broker.bootstrap
    create_topics(bootstrap, ["watermark-v1"], partitions=1)
    producer = make_producer(bootstrap, linger_ms=200)
    for i in range(10):
        producer.send("watermark-v1", value=str(i).encode())
    producer.flush()
    producer.close()
    consumer = make_consumer(bootstrap, group_id=None)
    partition = TopicPartition("watermark-v1", 0)
    end = consumer.end_offsets([partition])[partition]
    consumer.close()
    assert end == 1, f"end offset {end}: the high-watermark bug is fixed, remove the workaround"


def test_aiokafka_under_faust_reads_what_the_pipeline_produces(kafka_bootstrap):
    # The pipeline's producers compress with lz4; aiokafka (Faust's client) decodes it only with cramjam.
    import asyncio

    from aiokafka import AIOKafkaConsumer

    from streams.runtime.librdkafka_clients import fast_producer
    from streams.settings import Settings

    create_topics(kafka_bootstrap, ["lz4-for-aiokafka-v1"], partitions=1)
    producer = fast_producer(kafka_bootstrap, Settings())
    for i in range(500):
        producer.produce("lz4-for-aiokafka-v1", value=str(i).encode())
    producer.flush()

    async def read() -> list[int]:
        consumer = AIOKafkaConsumer("lz4-for-aiokafka-v1", bootstrap_servers=kafka_bootstrap,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            got: list[int] = []
            while len(got) < 500:
                batches = await consumer.getmany(timeout_ms=1000)
                got += [int(message.value) for messages in batches.values() for message in messages]
            return got
        finally:
            await consumer.stop()

    assert asyncio.run(asyncio.wait_for(read(), 60)) == list(range(500))
