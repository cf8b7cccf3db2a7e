"""The Lead SLA page lists the alerts table's latest rows (no browser: the page's HTML over a small lake)."""

from __future__ import annotations

import re

from dashboard.pages import Report
from sinks.lake import Lake
from sinks.tables import TABLES


def test_the_sla_page_lists_the_latest_alerts_with_their_status(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    for name in TABLES:
        lake.create(name)
    lake.write(TABLES["alerts"], [
        {"alert_id": "msg_1", "rule": "sla_breach;team=emea", "type": "sla_breach", "subject": "lead-1",
         "account_id": "acme", "lead_event_id": "lead-1", "destination": "revops", "destination_kind": "webhook",
         "status": "delivered",
         "attempts": 2, "record_at": "2026-03-03T09:00:00Z", "first_try_at": "2026-03-03T09:00:00Z",
         "last_try_at": "2026-03-03T09:01:01Z", "latency_seconds": 1.25},
        {"alert_id": "msg_2", "rule": "sla_breach", "type": "sla_breach", "subject": "lead-2", "account_id": "globex",
         "lead_event_id": "lead-2", "destination": "revops", "destination_kind": "webhook", "status": "failed",
         "attempts": 5, "record_at": "2026-03-02T09:00:00Z"},
    ])
    report = Report(str(tmp_path / "lake"))
    try:
        html = report.sla().body
    finally:
        report.close()
    alerts = html[html.index("Latest alerts"):]
    assert alerts.index("acme") < alerts.index("globex")  # newest first
    assert "delivered" in alerts and "failed" in alerts and "1.25" in alerts
    headers = re.findall(r"<th>(.*?)</th>", alerts)
    assert headers == ["account", "alert", "rule", "subject", "destination", "status", "tries", "first try",
                       "last try", "latency (s)"]
    first = re.findall(r"<td[^>]*>(.*?)</td>", alerts.split("</tr>")[1])  # acme's row
    assert first[1:7] == ["sla_breach", "sla_breach;team=emea", "lead-1", "revops", "delivered", "2"]
    assert first[7:] == ["2026-03-03 09:00", "2026-03-03 09:01", "1.25"]  # first try, last try, latency
