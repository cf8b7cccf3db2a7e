"""Segment's documented payload shapes, posted as they are: each one answered 200 and landed as documented.

The corpus (``tests/data/segment_spec_payloads.json``) follows the spec pages and the HTTP API page,
each entry naming its page: ids in several forms, no ``messageId``, no timestamp, a one-digit month,
Segment's own top-level fields (``channel``, ``integrations``, ``version``), a full ``context``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from streams import topics
from streams.runtime.kafka_python_clients import make_consumer
from tests.faults.harness import Collector, post

pytestmark = pytest.mark.integration

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "segment_spec_payloads.json").read_text())["payloads"]


def test_every_documented_payload_lands_as_documented(fresh_broker, tmp_path):
    collector = Collector(fresh_broker.bootstrap, tmp_path / "collector.log").start()
    try:
        for payload in CORPUS:
            status, answer = post(payload["path"], payload["body"], collector.port)
            assert (status, answer.get("accepted"), answer.get("errors")) == (200, len(payload["lands"]), None), \
                (payload["shape"], answer)
    finally:
        collector.stop()
    expected = Counter(kind for payload in CORPUS for kind in payload["lands"])
    consumer = make_consumer(fresh_broker.bootstrap, topics.TOUCHES_RAW, topics.TOUCHES_DLQ, group_id=None)
    seen: dict[str, list[dict[str, object]]] = {topics.TOUCHES_RAW: [], topics.TOUCHES_DLQ: []}
    deadline = time.monotonic() + 30
    while len(seen[topics.TOUCHES_RAW]) < expected.total() and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            seen[tp.topic] += [json.loads(r.value) for r in records]
    consumer.close()
    assert seen[topics.TOUCHES_DLQ] == []
    assert Counter(t["event_type"] for t in seen[topics.TOUCHES_RAW]) == expected
    assert len({t["event_id"] for t in seen[topics.TOUCHES_RAW]}) == expected.total()
    order = next(t for t in seen[topics.TOUCHES_RAW] if t["event_type"] == "closed_won")
    assert (order["opportunity_id"], order["amount"], order["currency"]) == ("50314b8e9bcf000000000000", 25.0, "USD")
