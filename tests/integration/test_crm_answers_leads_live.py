"""Live where it matters: two marketing leads wait past their SLA and are in breach in the lake; then the sales
calls logged against them in Salesforce arrive by Outbound Message, and within seconds the lake changes as the
rules say (docs/closed-loop.md, transforms/lead_sla.py): the breach of the lead called within the SLA on event
time is retracted, the other's gets its late answer, and each call is in its account's journey with the lead's
response time."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinks.lake import Lake
from streams.collector.app import CollectorSettings, collector_application
from streams.runtime.producing import produce_raw
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.integration.salesforce_org import AppThread

pytestmark = pytest.mark.integration

ORG = "00D000000000004AAA"
ACCOUNT = "001000000000001"  # the account the message's Task (a call, 2026-01-07 15:00Z, by an SDR) is logged on
LATE = "001000000000002"  # a second Task, made of the first: a call on this account 2026-01-08 15:00Z
# Our fixture of the outbound messaging WSDL's notifications call ("Setting Up Outbound Messaging"), with its
# Task notification and a second one like it in place of its Opportunity's
_FIXTURE = (Path(__file__).parent.parent / "data" / "salesforce" / "outbound_opportunity_and_task.xml").read_bytes()
_TASK = re.search(rb"<Notification>\s*<Id>04l000000000002AAA</Id>.*?</Notification>", _FIXTURE, re.DOTALL)[0]
_LATE_TASK = (_TASK.replace(b"04l000000000002AAA", b"04l000000000003AAA")
              .replace(b"00T000000000001", b"00T000000000005").replace(ACCOUNT.encode(), LATE.encode())
              .replace(b"2026-01-07", b"2026-01-08"))
MESSAGE = re.sub(rb"<Notification>\s*<Id>04l000000000001AAA</Id>.*?</Notification>", lambda _: _LATE_TASK,
                 _FIXTURE, flags=re.DOTALL)


def touch(event_id: str, at: str, account_id: str, event_type: str = "site_visit") -> bytes:
    return json.dumps({"event_id": event_id, "source": "web", "event_type": event_type, "occurred_at": at,
                       "account_id": account_id, "team": "marketing"}).encode()


def breaches(lake: Lake) -> dict[str, tuple[object, ...]]:
    files = lake.files("sla_breaches")
    if not files:
        return {}
    rows = lake.connect().execute("select lead_event_id, account_id, answered_at from read_parquet(?)",
                                  [files]).fetchall()
    return {row[0]: row for row in rows}


def wait_for_breaches(lake: Lake, done, timeout: float, every: float = 0.2) -> dict[str, tuple[object, ...]]:
    """The lake's breach rows once ``done(rows)`` holds, looking every ``every`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = breaches(lake)
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout} s the lake's breaches are {found}")
        time.sleep(every)


def test_calls_logged_in_salesforce_retract_or_answer_the_leads_breaches_within_seconds(fresh_broker, tmp_path):
    settings = Settings(kafka_bootstrap=fresh_broker.bootstrap, lake=tmp_path / "lake",
                        catalog=tmp_path / "touchline.duckdb", salesforce_org_id=ORG, state_commit_seconds=0.5)
    lake = Lake(settings.lake)
    worker = Worker(fresh_broker.bootstrap, settings, processes=False).start()
    served = AppThread(collector_application(fresh_broker.bootstrap, settings, CollectorSettings.read(settings)))
    try:
        # the leads (forms at 10:00 on 01-07: 5 h and 29 h before their calls), then other accounts reach 01-09
        # (enough of them for two in every partition: the stream judges the SLA on each partition's clock, see
        # tests/integration/pipeline.time_moves_on): the clock (24 h) has passed both deadlines, unanswered
        produce_raw([touch("lead", "2026-01-07T10:00:00Z", ACCOUNT, "form_fill"),
                     touch("late-lead", "2026-01-07T10:00:00Z", LATE, "form_fill"),
                     *(touch(f"later-{n}", "2026-01-09T12:00:00Z", f"acct-later-{n:02d}") for n in range(24))],
                    fresh_broker.bootstrap)
        waiting = wait_for_breaches(lake, lambda found: len(found) == 2, 60)
        assert waiting == {"lead": ("lead", ACCOUNT, None), "late-lead": ("late-lead", LATE, None)}

        started = time.monotonic()
        request = urllib.request.Request(served.url + "/salesforce/outbound", data=MESSAGE, method="POST",
                                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"<Ack>true</Ack>" in response.read()
        answered = datetime(2026, 1, 8, 15, tzinfo=UTC)
        wait_for_breaches(lake, lambda found: found == {"late-lead": ("late-lead", LATE, answered)}, 30)
        changed_after = time.monotonic() - started
    finally:
        served.close()
        worker.close()
    print(f"Outbound Message POST to the lake's breaches retracted and answered: {changed_after:.2f} s")
    assert changed_after < 10  # the sink lands every 2 s; on a busy two-core machine, a few seconds more
    rows = lake.connect().execute("select account_id, source, event_id, lead_response_hours from read_parquet(?) "
                                  "where account_id in (?, ?) order by account_id, seq",
                                  [lake.files("journey_touches"), ACCOUNT, LATE]).fetchall()
    assert rows == [(ACCOUNT, "web", "lead", None), (ACCOUNT, f"salesforce:{ORG}", "00T000000000001", 5.0),
                    (LATE, "web", "late-lead", None), (LATE, f"salesforce:{ORG}", "00T000000000005", 29.0)]
