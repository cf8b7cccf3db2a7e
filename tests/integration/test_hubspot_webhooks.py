"""HubSpot webhooks through the real collector (HTTP on 127.0.0.1) into the embedded broker, and a deal's webhook
through the hubspot stage and the pipeline into the lake, once however often it is delivered."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from kafka import TopicPartition

from sinks.lake import Lake
from streams import topics
from streams.collector.app import CollectorSettings, collector_application
from streams.runtime.broker import free_port
from streams.runtime.kafka_python_clients import make_consumer
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.hubspot_server import SECRET, TOKEN, FakeHubspot, body, company, deal, event, signed_headers
from tests.integration.pipeline import topic_end, wait_for_lake

pytestmark = pytest.mark.integration


@contextmanager
def collector(bootstrap: str, settings: Settings) -> Iterator[str]:
    """The collector's own application on a free port of 127.0.0.1, in a thread; yields its URL."""
    port = free_port()
    application = collector_application(bootstrap, settings, CollectorSettings.read(settings))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(application)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = error.read()
        return error.code, json.loads(answer) if error.headers.get_content_type() == "application/json" else {}


def deliver(base: str, *events: dict, **signing: object) -> tuple[int, dict]:
    url = base + "/hubspot/webhooks"
    data = body(*events)
    return post(url, data, signed_headers(url, data, **signing))  # type: ignore[arg-type]


def test_signed_webhooks_are_produced_and_bad_ones_refused_with_nothing_produced(kafka_bootstrap):
    settings = Settings(kafka_bootstrap=kafka_bootstrap, hubspot_client_secret=SECRET)
    consumer = make_consumer(kafka_bootstrap, group_id=None)
    partitions = [TopicPartition(topics.CRM_WEBHOOKS_RAW, p)
                  for p in consumer.partitions_for_topic(topics.CRM_WEBHOOKS_RAW) or ()]
    before = consumer.end_offsets(partitions) if partitions else {}  # what other tests of the module produced
    with collector(kafka_bootstrap, settings) as base:
        url = base + "/hubspot/webhooks"
        first = event(1, "deal.creation", 9001)
        assert deliver(base, first, event(2, "contact.propertyChange", 201, propertyName="email",
                                          propertyValue="ana@acme.example")) == (200, {"accepted": 2})
        assert deliver(base, {**first, "attemptNumber": 1}) == (200, {"accepted": 1})  # HubSpot's retry
        data = body(event(3, "deal.creation", 9003))
        assert post(url, data, {"Content-Type": "application/json"})[0] == 401  # unsigned
        assert deliver(base, event(4, "deal.creation", 9004), secret="not-the-secret")[0] == 401
        stale = deliver(base, event(5, "deal.creation", 9005), at_ms=int(time.time() * 1000) - 301_000)
        assert stale[0] == 401 and "older than 5 minutes" in stale[1]["error"]
        headers = signed_headers(url, data)
        assert post(url, data.replace(b"9003", b"9903"), headers)[0] == 401  # the body was changed after signing
        malformed = b'{"eventId": 6}'
        status, answer = post(url, malformed, signed_headers(url, malformed))
        assert status == 400 and "array" in answer["problem"]
        assert deliver(base, *[event(n, "deal.creation", n) for n in range(101)])[0] == 400

    without = Settings(kafka_bootstrap=kafka_bootstrap, write_keys="")
    with collector(kafka_bootstrap, without) as base:
        assert deliver(base, event(7, "deal.creation", 9007))[0] == 404

    consumer.close()
    consumer = make_consumer(kafka_bootstrap, group_id=None)
    partitions = [TopicPartition(topics.CRM_WEBHOOKS_RAW, p)
                  for p in consumer.partitions_for_topic(topics.CRM_WEBHOOKS_RAW)]
    consumer.assign(partitions)
    for partition in partitions:
        consumer.seek(partition, before.get(partition, 0))
    produced = sum(consumer.end_offsets(partitions).values()) - sum(before.values())
    assert produced == 3  # nothing of the refused requests
    seen = []
    deadline = time.monotonic() + 20
    while len(seen) < 3 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            seen += [(r.key, json.loads(r.value)) for r in records]
    consumer.close()
    assert sorted(key for key, _ in seen) == [b"hubspot|62515|1", b"hubspot|62515|1", b"hubspot|62515|2"]
    assert {value["objectId"] for _, value in seen} == {9001, 201}


def test_bad_requests_get_a_clear_4xx_and_produce_nothing(kafka_bootstrap):
    settings = Settings(kafka_bootstrap=kafka_bootstrap, hubspot_client_secret=SECRET)
    rng = random.Random(26)
    with collector(kafka_bootstrap, settings) as base:
        url = base + "/hubspot/webhooks"
        good = body(event(40, "deal.creation", 9040))
        fresh = str(int(time.time() * 1000))
        signature = signed_headers(url, good)["X-HubSpot-Signature-v3"]
        # headers go out as latin-1: "1\xc2\xb2" is "1²" in UTF-8, a digit str.isdigit() takes that int() refuses
        odd_timestamps = ["1\xc2\xb2", "1\xb2", "9" * 40, "-1", "+" + fresh, fresh + "_0", "0x10"]
        signed_bodies = [b'[{"eventId": ' + b"9" * 5000 + b"}]", b"\xff\xfe[]", b"[" * 50_000, b"[NaN]",
                         b'[{"eventId": 1e999, "portalId": 1, "occurredAt": 1, "objectId": 1, '
                         b'"subscriptionType": "deal.creation"}]', b"", b"null"]
        before = topic_end(kafka_bootstrap, topics.CRM_WEBHOOKS_RAW)
        answers = [post(url, good, {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": stamp,
                                    "X-HubSpot-Signature-v3": signature}) for stamp in odd_timestamps]
        answers += [post(url, data, signed_headers(url, data)) for data in signed_bodies]
        assert [status for status, _ in answers] == [401] * len(odd_timestamps) + [400] * len(signed_bodies)
        assert all(answer.get("error") for _, answer in answers)
        assert topic_end(kafka_bootstrap, topics.CRM_WEBHOOKS_RAW) == before
        # random damage to a signed body (signed after the damage): refused or taken, never a 5xx; what is
        # produced is exactly what was accepted
        accepted = 0
        for _ in range(60):
            data = bytearray(good)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            status, answer = post(url, bytes(data), signed_headers(url, bytes(data)))
            assert status in (200, 400), (bytes(data), status, answer)
            accepted += answer.get("accepted", 0)
        assert topic_end(kafka_bootstrap, topics.CRM_WEBHOOKS_RAW) == before + accepted


def test_a_deals_webhook_reaches_touches_once_however_often_and_in_whatever_order_it_comes(fresh_broker, tmp_path):
    with FakeHubspot() as hubspot:
        hubspot.add("deals", deal("9101", history=[("appointmentscheduled", "2026-03-01T09:00:00.000Z")]))
        hubspot.add("companies", company("701", "acme.example"))
        settings = Settings(kafka_bootstrap=fresh_broker.bootstrap, lake=tmp_path / "lake",
                            catalog=tmp_path / "touchline.duckdb", hubspot_client_secret=SECRET,
                            hubspot_token=TOKEN, hubspot_api_url=hubspot.url, state_commit_seconds=0.5)
        worker = Worker(fresh_broker.bootstrap, settings, processes=False).start()
        assert "hubspot" in (worker.stages or ())
        try:
            with collector(fresh_broker.bootstrap, settings) as base:
                changed = event(12, "deal.propertyChange", 9101, propertyName="amount", propertyValue="1200")
                created = event(11, "deal.creation", 9101)
                assert deliver(base, changed, event(10, "company.creation", 701))[0] == 200  # before its creation
                assert deliver(base, created)[0] == 200
                assert deliver(base, {**created, "attemptNumber": 1}, changed)[0] == 200  # retried, repeated
                counts = wait_for_lake(settings.lake, 2, 0, 1)
        finally:
            worker.close()
    assert (counts["touches"], counts["dead_letters"], counts["journey_touches"]) == (2, 0, 1)
    lake = Lake(settings.lake)
    rows = lake.connect().execute("select source, event_id, event_type, account_id from read_parquet(?) "
                                  "order by event_id", [lake.files("touches")]).fetchall()
    assert rows == [("hubspot:62515", "9101:created", "opportunity_created", "701"),
                    ("hubspot:62515", "company:701", "group", "701")]
    assert len([1 for path, _, _ in hubspot.reads if path == "deals"]) == 4  # every delivery read the deal
