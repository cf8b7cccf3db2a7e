"""Live where it matters: a marketing lead waits past its SLA and is in breach in the lake; then the sales call
logged against it in Salesforce arrives by Outbound Message, and within seconds the lake's breach is retracted
(the call came within the SLA on event time: the lead was answered in time, docs/closed-loop.md) and the call
is in the account's journey with the lead's response time."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from sinks.lake import Lake
from streams.collector import CollectorSettings, collector_application
from streams.producing import produce_raw
from streams.settings import Settings
from streams.worker import Worker
from tests.integration.salesforce_org import AppThread

pytestmark = pytest.mark.integration

ORG = "00D000000000004AAA"
ACCOUNT = "001000000000001"  # the account the message's Task (a call, 2026-01-07 15:00Z, by an SDR) is logged on
# Our fixture of the outbound messaging WSDL's notifications call ("Setting Up Outbound Messaging"), with only
# its Task notification
MESSAGE = re.sub(rb"<Notification>\s*<Id>04l000000000001AAA</Id>.*?</Notification>", b"",
                 (Path(__file__).parent.parent / "data" / "salesforce" / "outbound_opportunity_and_task.xml")
                 .read_bytes(), flags=re.DOTALL)


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


def wait(condition, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"not within {timeout} s")


def test_a_call_logged_in_salesforce_retracts_the_leads_breach_within_seconds(fresh_broker, tmp_path):
    settings = Settings(kafka_bootstrap=fresh_broker.bootstrap, lake=tmp_path / "lake",
                        catalog=tmp_path / "touchline.duckdb", salesforce_org_id=ORG, state_commit_seconds=0.5)
    lake = Lake(settings.lake)
    worker = Worker(fresh_broker.bootstrap, settings, processes=False).start()
    served = AppThread(collector_application(fresh_broker.bootstrap, settings, CollectorSettings.read(settings)))
    try:
        # the lead (a form at 10:00, 5 h before the call), then other accounts reach 01-09 (enough of them for
        # two in every partition: the stream judges the SLA on each partition's clock, see
        # tests/integration/pipeline.time_moves_on): the clock (24 h) has passed the lead's deadline, unanswered
        produce_raw([touch("lead", "2026-01-07T10:00:00Z", ACCOUNT, "form_fill"),
                     *(touch(f"later-{n}", "2026-01-09T12:00:00Z", f"acct-later-{n:02d}") for n in range(24))],
                    fresh_broker.bootstrap)
        (breach,) = wait(lambda: list(breaches(lake).values()), 60)
        assert breach == ("lead", ACCOUNT, None)

        started = time.monotonic()
        request = urllib.request.Request(served.url + "/salesforce/outbound", data=MESSAGE, method="POST",
                                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and b"<Ack>true</Ack>" in response.read()
        wait(lambda: not breaches(lake), 30)
        retracted_after = time.monotonic() - started
    finally:
        served.close()
        worker.close()
    print(f"Outbound Message POST to the breach's retraction in the lake: {retracted_after:.2f} s")
    assert retracted_after < 10  # the sink lands every 2 s; on a busy two-core machine, a few seconds more
    rows = lake.connect().execute("select source, event_id, lead_response_hours from read_parquet(?) "
                                  "where account_id = ? order by seq", [lake.files("journey_touches"),
                                                                        ACCOUNT]).fetchall()
    assert rows == [("web", "lead", None), (f"salesforce:{ORG}", "00T000000000001", 5.0)]
