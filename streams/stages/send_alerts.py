"""``send_alerts``: ``sla-breaches-v1`` and ``journey-transitions-v1`` records in, alerts out.

One stage per source topic (each its own consumer group), both sharing one :class:`Deliveries`.
The rules (:mod:`transforms.alerts`) say which alerts a record raises; each alert has an id
derived from (rule, subject, destination, type). The partition's :class:`AlertLedger`, in its
state store, remembers every alert it started and what it came to, written the moment it is
known (not at the next checkpoint): a record read again (a restart, a redelivery, a re-stitch)
finds its alerts there and sends nothing twice, and an alert still pending when the stage
stopped is sent again when the partition is taken up (with the same id, so a receiver that got
it de-duplicates). Each alert's status goes to ``alerts-v1`` (pending, then delivered or
failed), which the lake sink lands as the ``alerts`` table.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from rocksdict import WriteBatch

from schemas.alert_rules import AlertRules
from streams import topics
from streams.runtime.processor import Emit, StageRunner
from streams.runtime.records import Record, dumps, loads
from streams.runtime.state import StateStore
from streams.settings import Settings
from streams.stages.alert_delivery import Deliveries, Outcome
from transforms.alerts import BREACH, TRANSITION, Alert, alerts_of, ons
from transforms.types import iso

_PENDING = b"\x00alerts:pending:"
_DONE = b"\x00alerts:done:"


class AlertLedger:
    """A partition's alerts: pending ones (with what to send) and finished ones (their status row)."""

    def __init__(self, store: StateStore) -> None:
        self.db = store.db

    def status(self, alert_id: str) -> dict[str, Any] | None:
        """The alert's status row, pending or finished (None: never started)."""
        raw = self.db.get(_DONE + alert_id.encode()) or self.db.get(_PENDING + alert_id.encode())
        if raw is None:
            return None
        value = pickle.loads(raw)
        return value[1] if isinstance(value, tuple) else value  # type: ignore[no-any-return]

    def start(self, alert: Alert, row: dict[str, Any]) -> None:
        """Remember an alert about to be sent."""
        self.db.put(_PENDING + alert.alert_id.encode(), pickle.dumps((alert, row)))

    def finish(self, alert_id: str, row: dict[str, Any]) -> None:
        """Remember what an alert came to (one atomic write: pending no more, finished)."""
        batch = WriteBatch(raw_mode=True)
        batch.delete(_PENDING + alert_id.encode())
        batch.put(_DONE + alert_id.encode(), pickle.dumps(row))
        self.db.write(batch)

    def pending(self) -> Iterator[tuple[Alert, dict[str, Any]]]:
        """The alerts started and not finished."""
        for key in self.db.keys(from_key=_PENDING):
            if not key.startswith(_PENDING):
                return
            yield pickle.loads(self.db[key])


def _seconds(later: str, earlier: str | None) -> float | None:
    if earlier is None:
        return None
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


class SendAlerts:
    """Stage: the alerts of one source topic's records, delivered once each."""

    def __init__(self, source: str, rules: AlertRules, deliveries: Deliveries, dashboard_url: str) -> None:
        self.source = source
        self.kind = BREACH if source == topics.SLA_BREACHES else TRANSITION
        self.name = "send-alerts-" + ("breaches" if self.kind == BREACH else "transitions")
        self.rules = rules
        self.kinds = {d.name: d.kind for d in rules.destination}
        self.deliveries = deliveries
        self.dashboard_url = dashboard_url
        self.ledgers: dict[int, AlertLedger] = {}
        self.in_flight: dict[str, int] = {}  # alert id -> partition
        self.finished_rows: dict[str, dict[str, Any]] = {}  # alert id -> its final row, recorded, not yet emitted
        self.lock = threading.Lock()  # the delivery thread records outcomes; the loop opens and closes partitions
        deliveries.on_outcome = self._record

    def open(self, partition: int, store: StateStore) -> None:
        ledger = self.ledgers[partition] = AlertLedger(store)
        for alert, _ in ledger.pending():  # started before a stop: send again (same id), maybe sent already
            self._send(partition, alert, resend=True)

    def close(self, partition: int) -> None:
        with self.lock:
            self.ledgers.pop(partition, None)

    def save(self, partition: int) -> None:
        """The ledger is written as alerts start and finish: nothing waits for the checkpoint."""

    def _send(self, partition: int, alert: Alert, resend: bool = False) -> None:
        self.in_flight[alert.alert_id] = partition
        self.deliveries.submit(alert, resend)

    def row(self, alert: Alert, record_at: str | None) -> dict[str, Any]:
        """The alert's ``alerts`` row while pending."""
        return {"alert_id": alert.alert_id, "rule": alert.rule_id, "type": alert.type, "subject": alert.subject,
                "account_id": alert.account_id, "lead_event_id": alert.lead_event_id,
                "destination": alert.destination, "destination_kind": self.kinds[alert.destination],
                "status": "pending", "attempts": 0, "record_at": record_at, "first_try_at": None,
                "last_try_at": None, "latency_seconds": None, "http_status": None, "error": None,
                "follows": alert.follows,
                "open": alert.type == "sla_breach" and not alert.happened.get("answered_at")}  # (ledger only)

    def apply(self, partition: int, message: Record, emit: Emit) -> None:
        self.tick(emit)
        ledger = self.ledgers[partition]
        record = loads(message.value)
        stamp = message.timestamp_ms
        record_at = iso(datetime.fromtimestamp(stamp / 1000, UTC)) if stamp and stamp > 0 else None
        alerts = alerts_of(self.kind, self.rules, record, self.dashboard_url)
        announced = {a.follows: ledger.status(a.follows) for a in alerts if a.follows}
        for alert in alerts:
            if alert.follows is not None:
                original = announced[alert.follows]
                if original is None or original["status"] == "failed" or \
                        (alert.needs_open and not original.get("open")):
                    continue  # never announced (or never got there), or announced with its answer: nothing to resolve
            known = ledger.status(alert.alert_id)
            if known is not None:
                if known["status"] != "pending":
                    emit(topics.ALERTS, alert.alert_id.encode(), dumps(known))  # the same row: the lake absorbs it
                continue
            row = self.row(alert, record_at)
            with self.lock:
                ledger.start(alert, row)
            emit(topics.ALERTS, alert.alert_id.encode(), dumps(row))
            self._send(partition, alert)

    def _record(self, outcome: Outcome) -> None:
        """On the delivery thread, as soon as an outcome is known: into the ledger (so a crash a moment later
        sends nothing twice), its row kept for the next :meth:`tick` to emit."""
        with self.lock:
            partition = self.in_flight.pop(outcome.alert_id, None)
            ledger = self.ledgers.get(partition) if partition is not None else None
            if ledger is None:
                return  # its partition moved: the next owner sends it again
            pending = ledger.status(outcome.alert_id)
            if pending is None or pending["status"] != "pending":
                return
            last = iso(outcome.last_try_at)
            row = {**pending, "status": outcome.status, "attempts": outcome.attempts,
                   "first_try_at": iso(outcome.first_try_at), "last_try_at": last,
                   "latency_seconds": _seconds(last, pending["record_at"]) if outcome.status == "delivered" else None,
                   "http_status": outcome.http_status, "error": outcome.error}
            ledger.finish(outcome.alert_id, row)
            self.finished_rows[outcome.alert_id] = row

    def tick(self, emit: Emit) -> None:
        """Emit the status rows of the outcomes recorded since the last call."""
        for outcome in self.deliveries.take():
            with self.lock:
                row = self.finished_rows.pop(outcome.alert_id, None)
            if row is not None:
                emit(topics.ALERTS, outcome.alert_id.encode(), dumps(row))


class SendAlertsRunner:
    """The alert stages a rules file needs (breaches, transitions), each in its own consumer group."""

    name = "send-alerts"

    def __init__(self, bootstrap: str, settings: Settings, rules: AlertRules) -> None:
        wanted = ons(rules)
        sources = ([topics.SLA_BREACHES] if "sla_breach" in wanted else []) + \
            ([topics.JOURNEY_TRANSITIONS] if wanted - {"sla_breach"} else [])
        self.deliveries = [Deliveries(settings, rules) for _ in sources]
        self.stages = [SendAlerts(source, rules, deliveries, settings.dashboard_url)
                       for source, deliveries in zip(sources, self.deliveries, strict=True)]
        self.runners = [StageRunner(stage, bootstrap, settings, max_records=500) for stage in self.stages]

    def run(self, stop: threading.Event) -> None:
        """Run every alert stage until ``stop``."""
        threads = [threading.Thread(target=runner.run, args=(stop,), name=f"touchline-{runner.stage.name}",
                                    daemon=True) for runner in self.runners]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            for deliveries in self.deliveries:
                deliveries.close()
