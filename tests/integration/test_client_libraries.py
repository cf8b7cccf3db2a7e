"""The official Segment and RudderStack Python libraries, unmodified, against a running collector and worker.

What a user's backend does: identify, group, alias, page and track with the names their product
uses (Segment spec names in any case, names no mapping covers), numeric ids, a company website
instead of a domain. One library runs on a device whose clock is 48 hours ahead. Every call must
land once (an alias as two identity links), no library may report an error, the skewed times
must come back to the real time, and no lead may be flagged as an SLA breach.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rudderstack.analytics.client as rudder_client
import segment.analytics.client as segment_client
import segment.analytics.request as segment_request

from sinks.lake import Lake
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.faults.harness import KEY, Collector
from tests.integration.pipeline import wait_for_lake

pytestmark = pytest.mark.integration

AHEAD = timedelta(hours=48)


class ClockAhead(datetime):
    """``datetime`` as a device whose clock runs 48 hours fast sees it."""

    @classmethod
    def now(cls, tz: Any = None) -> ClockAhead:
        return super().now(tz) + AHEAD

    @classmethod
    def utcnow(cls) -> ClockAhead:
        return super().utcnow() + AHEAD


@pytest.fixture
def pipeline(fresh_broker, tmp_path):
    collector = Collector(fresh_broker.bootstrap, tmp_path / "collector.log").start()
    worker = Worker(fresh_broker.bootstrap, Settings(lake=tmp_path / "lake", catalog=tmp_path / "c.duckdb")).start()
    yield f"http://127.0.0.1:{collector.port}", worker.lake
    collector.stop()
    worker.close()


def _segment_calls_from_a_clock_48_hours_ahead(host: str, errors: list[object], monkeypatch) -> int:
    monkeypatch.setattr(segment_client, "datetime", ClockAhead)
    monkeypatch.setattr(segment_request, "datetime", ClockAhead)
    client = segment_client.Client(KEY, host=host, on_error=lambda error, batch: errors.append(error),
                                   max_retries=1)
    client.page(anonymous_id="anon-peter", name="Pricing", properties={"url": "https://touchline.dev/pricing"},
                context={"page": {"referrer": "https://www.google.com/"}})
    client.identify(1001, {"email": " Peter@Initech.com ", "title": "VP Operations"}, anonymous_id="anon-peter")
    client.group(1001, 2002, {"name": "Initech", "website": "https://www.initech.com/"})
    client.track(1001, "Pricing Viewed", {"plan": "enterprise", "channel": "web", "team": "ops"},
                 context={"groupId": 2002})
    client.track(1001, "demo requested", {"form": "contact-sales"}, context={"groupId": 2002})
    client.flush()
    client.join()
    return 5


def _rudderstack_calls(host: str, errors: list[object]) -> int:
    client = rudder_client.Client(KEY, host=host, on_error=lambda error, batch: errors.append(error),
                                  max_retries=1)
    client.page(anonymous_id="anon-sam", name="Home", properties={"url": "https://touchline.dev/"})
    client.alias("anon-sam", "sam-7")  # previousId → userId
    client.identify("sam-7", {"email": "sam@globex.com"})
    client.group("sam-7", "acct-globex", {"name": "Globex", "domain": "globex.com"})
    client.track("sam-7", "Trial Started", {"plan": "team"}, context={"groupId": "acct-globex"})
    client.track("sam-7", "Invite Sent", {"invitee_role": "admin"}, context={"groupId": "acct-globex"})
    client.flush()
    client.join()
    return 6


def test_official_libraries_land_every_call_once_with_corrected_clocks(pipeline, monkeypatch):
    host, lake = pipeline
    errors: list[object] = []
    started = datetime.now(UTC)
    calls = _rudderstack_calls(host, errors)
    calls += _segment_calls_from_a_clock_48_hours_ahead(host, errors, monkeypatch)
    assert errors == []
    # Every call once, the alias as two identity links; page, tracks: journey touches of the two accounts.
    wait_for_lake(lake.root, calls + 1, 0, 6, timeout=120)
    rows = lake.connect().execute(
        "select source, event_type, anonymous_id, user_id, email, account_id, account_domain, occurred_at, "
        "properties from read_parquet(?) order by occurred_at", [lake.files("touches")]).fetchall()
    assert len(rows) == calls + 1
    kinds = sorted(row[1] for row in rows)
    assert kinds == sorted(["site_visit", "identify", "identify", "identify", "group", "trial_signup",
                            "custom:Invite Sent", "site_visit", "identify", "group", "custom:Pricing Viewed",
                            "form_fill"])
    finished = datetime.now(UTC)
    for row in rows:  # the device 48 h ahead is corrected back to the collector's time
        assert started - timedelta(seconds=5) <= row[7] <= finished + timedelta(seconds=5), row
        assert "touchline_clamped_from" not in (row[8] or "")
    peter = [row for row in rows if row[3] == "1001"]
    assert {row[4] for row in peter if row[4]} == {"Peter@Initech.com"}
    assert {row[6] for row in rows if row[1] == "group"} == {"initech.com", "globex.com"}
    custom = next(row for row in rows if row[1] == "custom:Pricing Viewed")
    assert '"channel": "web"' in custom[8] and '"team": "ops"' in custom[8]  # ordinary properties stay properties

    journeys = lake.connect().execute(
        "select account_id, event_type, anonymous_id from read_parquet(?)", [lake.files("journey_touches")]).fetchall()
    assert sorted((a, e) for a, e, _ in journeys) == sorted([
        ("2002", "site_visit"), ("2002", "custom:Pricing Viewed"), ("2002", "form_fill"),
        ("acct-globex", "site_visit"), ("acct-globex", "trial_signup"), ("acct-globex", "custom:Invite Sent")])
    # The anonymous page views reached their accounts through identify and alias.
    assert {(a, anon) for a, e, anon in journeys if e == "site_visit"} == {("2002", "anon-peter"),
                                                                           ("acct-globex", "anon-sam")}
    breaches = Lake(lake.root).files("sla_breaches")
    assert not breaches or lake.connect().execute("select count(*) from read_parquet(?)", [breaches]).fetchone()[0] == 0
