"""The collector over real HTTP on 127.0.0.1, producing to the embedded broker."""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from streams import topics
from streams.collector.app import authenticate, hash_key, new_write_key, parse_write_keys
from streams.runtime.broker import free_port
from streams.runtime.kafka_python_clients import make_consumer

pytestmark = pytest.mark.integration

KEY, ENTRY = new_write_key("segment:web")


def test_write_keys_are_stored_hashed_and_rotatable():
    old, old_entry = new_write_key("segment:web")
    keys = parse_write_keys(f"{old_entry},{ENTRY}")
    assert KEY not in str(keys) and hash_key(KEY) in keys
    basic = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert authenticate(basic, keys) == "segment:web"
    assert authenticate("Basic " + base64.b64encode(f"{old}:".encode()).decode(), keys) == "segment:web"
    assert authenticate("Basic " + base64.b64encode(b"wrong:").decode(), keys) is None
    assert authenticate("Bearer x", keys) is None


@pytest.fixture(scope="module")
def collector(kafka_bootstrap, tmp_path_factory):
    port = free_port()
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "TOUCHLINE_WRITE_KEYS": ENTRY,
           "TOUCHLINE_COLLECTOR_PORT": str(port), "TOUCHLINE_COLLECTOR_MAX_BODY_BYTES": "20000"}
    log = tmp_path_factory.mktemp("collector") / "collector.log"
    process = subprocess.Popen([sys.executable, "-m", "streams", "collector"], env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)


def post(url, body, key=KEY):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_collector_accepts_rejects_and_dead_letters(collector, kafka_bootstrap):
    ok = {"batch": [
        {"type": "page", "messageId": "c-1", "anonymousId": "a-1", "originalTimestamp": "2026-03-01T10:00:00Z"},
        {"type": "track", "event": "Form Submitted", "messageId": "c-2", "userId": "u-1",
         "originalTimestamp": "2026-03-01T10:05:00Z"},
    ], "sentAt": "2026-03-01T10:05:01Z"}
    assert post(collector + "/v1/batch", ok) == (200, {"success": True, "accepted": 2})
    assert post(collector + "/v1/identify", {"messageId": "c-3", "anonymousId": "a-1", "userId": "u-1",
                                             "timestamp": "2026-03-01T10:06:00Z"})[0] == 200
    status, body = post(collector + "/v1/batch", {"batch": [
        {"type": "page", "messageId": "c-4", "anonymousId": "a-2", "timestamp": "2026-03-01T10:00:00Z"},
        {"type": "track", "event": "Form Submitted", "anonymousId": "a-2", "timestamp": "yesterday"},
    ]})
    assert status == 200 and body["accepted"] == 1 and body["dead_lettered"] == 1  # a batch is never refused
    assert {e["field"] for e in body["errors"]} == {"timestamp"}
    assert post(collector + "/v1/track", {"event": "Demo Requested", "timestamp": "2026-03-01T10:00:00Z"})[0] == 400
    assert post(collector + "/v1/track", b"{not json")[0] == 400
    assert post(collector + "/v1/page", {"messageId": "x"}, key="nope")[0] == 401
    assert post(collector + "/v1/batch", {"batch": [], "pad": "x" * 30_000})[0] == 413

    consumer = make_consumer(kafka_bootstrap, topics.TOUCHES_RAW, topics.TOUCHES_DLQ, group_id=None)
    seen = {topics.TOUCHES_RAW: [], topics.TOUCHES_DLQ: []}
    deadline = time.monotonic() + 20
    while (len(seen[topics.TOUCHES_RAW]) < 4 or len(seen[topics.TOUCHES_DLQ]) < 3) and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            seen[tp.topic] += [json.loads(r.value) for r in records]
    consumer.close()
    assert sorted(t["event_id"] for t in seen[topics.TOUCHES_RAW]) == ["c-1", "c-2", "c-3", "c-4"]
    assert all(t["source"] == "segment:web" and t["received_at"] for t in seen[topics.TOUCHES_RAW])
    assert len(seen[topics.TOUCHES_DLQ]) == 3
    assert all(d["reason"] for d in seen[topics.TOUCHES_DLQ])
