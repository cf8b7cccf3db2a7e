"""Alerts end to end on the embedded broker: a worker SIGKILLed mid-run and restarted sends each breach's alert
once, every one signed (verified by the reference ``standardwebhooks`` library), and the lake's alerts table
holds one delivered row per alert."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from standardwebhooks.webhooks import Webhook

from sinks.lake import Lake
from streams.runtime.producing import produce_raw
from tests.integration.pipeline import expected_breaches, kill, lines, population, start_worker, time_moves_on
from tests.stages.receivers import Receiver, wait_for

pytestmark = pytest.mark.integration


def rest() -> None:
    time.sleep(0.3)  # between looks at the lake (each a read of its files)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_worker_killed_mid_run_and_restarted_sends_each_alert_once(fresh_broker, tmp_path):
    events = time_moves_on(population(3000, seed=9))
    leads = {breach[0] for breach in expected_breaches(events)}
    assert len(leads) >= 5
    hook = Receiver()
    rules = tmp_path / "alerts.toml"
    rules.write_text(f'[[destination]]\nname = "revops"\nkind = "webhook"\nurl = "{hook.url}/in"\n'
                     f'secret = "{SECRET}"\n\n[[rule]]\non = "sla_breach"\nto = ["revops"]\n')
    lake, catalog, log = tmp_path / "lake", tmp_path / "touchline.duckdb", tmp_path / "worker.log"
    settings = {"TOUCHLINE_ALERT_RULES": str(rules), "TOUCHLINE_STATE_COMMIT_SECONDS": "1",
                "TOUCHLINE_STATE_DIR": str(tmp_path / "state")}
    worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **settings)

    def landed() -> list[tuple[str, str, int]]:
        store = Lake(lake)
        files = store.files("alerts") if (lake / "alerts").exists() else []
        return store.connect().execute("select alert_id, status, attempts from read_parquet(?)",
                                       [files]).fetchall() if files else []

    def delivered() -> set[str]:
        return {alert for alert, status, _ in landed() if status == "delivered"}

    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for(lambda: len(delivered()) >= 1 or worker.poll() is not None, rest, timeout=120)
        kill(worker)  # mid-run: some alerts acknowledged (their rows landed), others in flight or not yet raised
        acknowledged = delivered()
        worker = start_worker(fresh_broker.bootstrap, lake, catalog, log, **settings)
        verifier = Webhook(SECRET)

        def breach_leads() -> set[str]:
            bodies = [verifier.verify(body, headers) for _, _, headers, body in list(hook.requests)]
            return {b["data"]["lead_event_id"] for b in bodies if b["type"] == "sla_breach"}

        wait_for(lambda: leads <= breach_leads() or worker.poll() is not None, timeout=120)
        assert worker.poll() is None, log.read_text()[-3000:]
        sent = Counter(headers["webhook-id"] for _, _, headers, _ in hook.requests)
        # What was acknowledged before the kill is never sent again; what was in flight may be, with its same id.
        assert acknowledged and {alert: sent[alert] for alert in acknowledged} == dict.fromkeys(acknowledged, 1)
        wait_for(lambda: delivered() == set(sent), rest, timeout=60)
        rows = landed()
        assert len(rows) == len({alert for alert, _, _ in rows})  # one row per alert
    finally:
        kill(worker)
        hook.close()
