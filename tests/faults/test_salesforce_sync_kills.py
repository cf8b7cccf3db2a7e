"""A `touchline sync salesforce` SIGKILLed at random points mid-run and restarted lands every record once."""

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter

import pytest

from sinks.storage import Storage
from streams import topics
from streams.crm.salesforce_api import Credentials, SalesforceClient
from streams.crm.salesforce_sync import SalesforceSync
from streams.runtime.kafka_python_clients import create_topics, make_consumer
from streams.runtime.librdkafka_clients import fast_producer
from streams.settings import Settings
from tests.integration.salesforce_org import SalesforceOrg, Serving, expected_keys, read_topic, sample_records

pytestmark = pytest.mark.integration

KILLS = 10


def test_a_sync_killed_mid_run_and_restarted_lands_every_record_once(fresh_broker, tmp_path, report):
    kafka_bootstrap = fresh_broker.bootstrap
    org_id = "00D000000000003AAA"
    source = f"salesforce:{org_id}"
    records = sample_records(org_id, more=12)
    org = SalesforceOrg(org_id, records, page_size=3, latency=0.04)
    serving = Serving(org)
    lake = tmp_path / "lake"
    cursor_file = lake / "_sync" / "salesforce" / f"{org_id}.json"
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": kafka_bootstrap, "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "token-0"}
    command = [sys.executable, "-m", "streams", "sync", "salesforce", "--instance-url", org.url, "--lake", str(lake),
               "--currency", "USD"]
    final = {name: max((r.get("SystemModstamp") or r["CreatedDate"], r["Id"]) for r in rows)
             for name, rows in records.items()}
    seed = random.randrange(2 ** 32)  # printed with the figures and in a failure: a failing run can be replayed
    rng = random.Random(seed)
    progress = []
    create_topics(kafka_bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1)
    consumer = make_consumer(kafka_bootstrap, topics.TOUCHES_RAW, group_id=None, fetch_max_wait_ms=10)
    landed = 0

    def drain():
        nonlocal landed
        while polled := consumer.poll(timeout_ms=300):
            landed += sum(len(records) for records in polled.values())

    def wait_landed(target, timeout=30.0):
        nonlocal landed
        deadline = time.monotonic() + timeout
        while landed < target and time.monotonic() < deadline:
            landed += sum(len(records) for records in consumer.poll(timeout_ms=50).values())
        return landed >= target

    try:
        for kill in range(KILLS):
            drain()  # what earlier runs produced is counted before this one starts
            served = org.pages_served
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # the point: just after a random page was served (mid-page), or just after the broker took a random
            # number of touches (around a cursor's move)
            point = (org.wait_for_pages(served + rng.randint(2, 6)) if kill % 2 == 0
                     else wait_landed(landed + rng.randint(1, 6)))
            assert point, f"the sync made no progress (seed {seed})"
            process.kill()  # SIGKILL: no cleanup, whatever it was doing
            process.wait(10)
            assert process.returncode == -9
            cursors = json.loads(cursor_file.read_text())["objects"] if cursor_file.exists() else {}
            at_end = {n for n, c in cursors.items() if (c["at"], c["id"]) == final[n]}
            assert at_end != set(final), f"killed after it had finished: not mid-run (seed {seed})"
            progress.append(len(cursors))
        consumer.close()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        serving.close()
    assert done.returncode == 0, done.stderr
    assert progress[-1] > 0  # the killed runs moved cursors: restarts resumed, not restarted from scratch
    cursors = json.loads(cursor_file.read_text())["objects"]
    assert {n: (c["at"], c["id"]) for n, c in cursors.items()} == final
    expected = expected_keys(records, tmp_path, source)
    landed = read_topic(kafka_bootstrap, topics.TOUCHES_RAW, source,
                        lambda found: {key.decode() for key, _ in found} >= expected)
    keys = [key.decode() for key, _ in landed]
    assert set(keys) == expected  # nothing lost, nothing foreign; repeats share their key and are one touch
    variants = {}
    for key, touch in landed:
        variants.setdefault(key.decode(), set()).add(json.dumps(touch, sort_keys=True))
    # a repeat is the same touch; only the lead's verdict comes from two objects (Lead has its e-mail, LeadHistory
    # not), and the pipeline keeps one of them
    assert {k for k, v in variants.items() if len(v) > 1} <= {f"{source}|lead:00Q000000000001:status:workingcontacted"}
    repeats = sum(n - 1 for n in Counter(keys).values())
    report.append(f"salesforce sync: {KILLS} SIGKILLs mid-run, {len(expected)} touches landed once each "
                  f"({repeats} repeats taken out by key); objects with a cursor after each kill: {progress}, "
                  f"seed {seed}")


class Crash(Exception):
    """The process dies here."""


def test_a_crash_after_the_ack_before_the_cursor_moved_repeats_that_page_on_the_same_keys(fresh_broker, tmp_path):
    # the one window a SIGKILL rarely hits: the broker has the page's touches, the cursor does not say so yet
    org_id = "00D000000000007AAA"
    source = f"salesforce:{org_id}"
    records = sample_records(org_id, more=3)
    org = SalesforceOrg(org_id, records, page_size=3)
    serving = Serving(org)
    storage = Storage(tmp_path / "lake")
    in_order = sorted(records["Opportunity"], key=lambda r: (r["SystemModstamp"], r["Id"]))
    create_topics(fresh_broker.bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1)
    try:
        def sync():
            return SalesforceSync(SalesforceClient(org.url, Credentials("token-0")),
                                  fast_producer(fresh_broker.bootstrap, Settings()), storage, org_id, currency="USD",
                                  say=lambda _: None)

        crashing = sync()
        moves = []
        move = crashing.cursors.move

        def crash_on_the_second(name, cursor):
            moves.append(name)
            if len(moves) == 2:
                raise Crash
            move(name, cursor)

        crashing.cursors.move = crash_on_the_second
        with pytest.raises(Crash):
            crashing.run_once()
        assert json.loads((tmp_path / "lake" / "_sync" / "salesforce" / f"{org_id}.json").read_text())[
            "objects"]["Opportunity"]["id"] == in_order[2]["Id"]  # the first page's last record, not the second's
        sync().run_once()
    finally:
        serving.close()
    expected = expected_keys(records, tmp_path, source)
    landed = read_topic(fresh_broker.bootstrap, topics.TOUCHES_RAW, source,
                        lambda found: {key.decode() for key, _ in found} >= expected)
    keys = Counter(key.decode() for key, _ in landed)
    assert set(keys) == expected
    second_page = {k for k in expected for o in in_order[3:6] if k.startswith(f"{source}|{o['Id']}:")}
    assert second_page and all(keys[key] == 2 for key in second_page)  # produced, crashed, produced again
    assert all(n == 1 for key, n in keys.items() if key not in second_page and "workingcontacted" not in key)
