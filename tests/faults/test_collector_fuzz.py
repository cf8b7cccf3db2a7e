"""Bad input at volume through the real collector: no 5xx, no crash, every record accounted for.

Hypothesis sends Segment batches (valid, half-valid, wrong types, random bytes) to
`touchline collector`; a worker lands them. Every accepted call must land in `touches`,
every rejected one in `dead_letters` with its reason. Then the edges: oversized bodies,
invalid UTF-8, deep nesting, missing keys, and slow (slowloris) clients.
"""

from __future__ import annotations

import itertools
import socket
import time
from datetime import UTC, datetime

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import segment
from schemas.touch import TouchEvent
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.faults.harness import Collector, auth, landed_event_ids, post
from tests.integration.pipeline import wait_for_lake
from tests.properties.test_fuzz_validators import json_values, segment_like

pytestmark = pytest.mark.integration

ids = itertools.count()


def _with_ids(calls: list[tuple[object, bool]]) -> list[object]:
    """Unique messageIds on the object calls not marked to keep theirs, so each accepted one is traceable."""
    return [{**call, "messageId": f"fz-{next(ids)}"} if isinstance(call, dict) and not keep else call
            for call, keep in calls]


valid_calls = st.builds(
    lambda kind, visitor, at, props: {"type": kind, "event": "Form Submitted", "anonymousId": f"v-{visitor}",
                                      "timestamp": at.isoformat(), "properties": props},
    st.sampled_from(["page", "track", "identify"]), st.integers(0, 50),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),  # noqa: DTZ001
                 timezones=st.just(UTC)),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3))
batches = st.lists(st.tuples(valid_calls | valid_calls | segment_like | json_values, st.booleans()), min_size=1,
                   max_size=5).map(_with_ids)
bodies = st.one_of(
    st.builds(lambda calls, sent_at: {"batch": calls, **({"sentAt": sent_at} if sent_at else {})},
              batches, st.none() | st.just("2026-03-01T10:00:01Z")),
    json_values.map(lambda v: {"batch": v}),
    st.binary(max_size=200),
)


def _account(status: int, body: dict, sent: object, accepted: set[str]) -> int:
    """Record what must land (the event ids of each call not reported failed: its messageId, or the id
    derived from its content, and an alias's second identify); return the dead letters the request caused."""
    messages = segment.batch_messages(sent) if isinstance(sent, dict) else None
    if isinstance(messages, list):
        failed = {e["index"] for e in body.get("errors", [])}
        for index, message in enumerate(messages):
            if index not in failed:
                touches = segment.convert_call(message, received_at=datetime.now(UTC))
                assert touches and all(isinstance(t, TouchEvent) for t in touches), (message, touches)
                accepted.update(t.event_id for t in touches)
        return len(failed)
    return 1 if status == 400 else 0


def test_fuzzed_collector_never_fails_and_every_record_lands_or_is_dead_lettered(fresh_broker, tmp_path, report):
    collector = Collector(fresh_broker.bootstrap, tmp_path / "collector.log",
                          TOUCHLINE_COLLECTOR_MAX_BODY_BYTES="20000",
                          TOUCHLINE_COLLECTOR_READ_TIMEOUT_SECONDS="2").start()
    worker = Worker(fresh_broker.bootstrap, Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")).start()
    accepted: set[str] = set()
    counts = {"requests": 0, "calls": 0, "dead": 0, "statuses": {}}
    try:
        @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(st.sampled_from(["/v1/batch", "/v1/track", "/v1/page"]), bodies)
        def fuzz(path: str, body: object) -> None:
            if path != "/v1/batch" and isinstance(body, dict) and isinstance(body.get("batch"), list) \
                    and body["batch"]:
                body = body["batch"][0]  # a single call
            status, answer = post(path, body, collector.port)
            assert status in (200, 400), (status, answer)
            if status == 400:
                assert all(e["field"] and e["problem"] for e in answer["errors"]), answer
            if path != "/v1/batch" and isinstance(body, dict):
                sent = {"batch": [{**body, "type": body.get("type", path.rsplit("/", 1)[1])}]}
            else:
                sent = body
            counts["dead"] += _account(status, answer, sent, accepted)
            counts["requests"] += 1
            counts["calls"] += len(sent["batch"]) if isinstance(sent, dict) and isinstance(sent.get("batch"),
                                                                                            list) else 1
            counts["statuses"][status] = counts["statuses"].get(status, 0) + 1

        fuzz()
        # The edges: each a 4xx, none a 5xx, the collector still up.
        big = {"batch": [{"type": "page", "messageId": "big", "anonymousId": "a", "properties": {"x": "y" * 30000}}]}
        assert post("/v1/batch", big, collector.port)[0] == 413  # too big to keep: not a dead letter
        assert post("/v1/batch", b"[" * 100_000 + b"]" * 100_000, collector.port)[0] == 413
        assert post("/v1/batch", {"batch": []}, collector.port, key="not-a-key")[0] == 401
        assert post("/v1/batch", b'{"batch": [\xff\xfe]}', collector.port)[0] == 400
        assert post("/v1/batch", b'{"batch": ' + b"[" * 5000 + b"]" * 5000 + b"}", collector.port)[0] == 400
        counts["dead"] += 2  # the 400s land as dead letters
        _slow_clients_time_out_and_do_not_block_others(collector.port)
        assert collector.process is not None and collector.process.poll() is None
        wait_for_lake(worker.lake.root, len(accepted), counts["dead"], 0, timeout=120)
    finally:
        collector.stop()
        worker.close()
    landed = landed_event_ids(worker.lake.root)
    assert sorted(set(landed)) == sorted(accepted) and len(landed) == len(set(landed))
    reasons = duckdb.connect().execute(
        "select count(*), count(*) filter (where coalesce(reason, '') = '') from read_parquet(?)",
        [worker.lake.files("dead_letters")]).fetchall()[0]
    assert reasons == (counts["dead"], 0)
    report.append(f"collector fuzz: {counts['requests']} requests, {counts['calls']} calls fuzzed "
                  f"(statuses {counts['statuses']}); {len(accepted)} accepted = {len(landed)} landed; "
                  f"{counts['dead']} rejected = dead letters with a reason")


def _slow_clients_time_out_and_do_not_block_others(port: int) -> None:
    headers = "".join(f"{k}: {v}\r\n" for k, v in auth().items())
    slow = []
    for _ in range(50):  # bodies that never finish
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /v1/batch HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 1000\r\n\r\n{{".encode())
        slow.append(s)
    for _ in range(50):  # headers that never finish
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    started = time.monotonic()
    assert post("/health", None, port, method="GET", timeout=5)[0] == 200
    assert time.monotonic() - started < 1.0  # others are served meanwhile
    slow[0].settimeout(10)
    answer = slow[0].recv(1000)
    assert b" 408 " in answer.split(b"\r\n")[0], answer  # the trickling body was cut off
    for s in slow:
        s.close()
