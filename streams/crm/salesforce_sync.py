"""``touchline sync salesforce``: each object's records since its cursor, as touches on ``touches-raw-v1``.

Each object (:data:`schemas.salesforce_records.OBJECTS`) is read in cursor order (``ORDER BY SystemModstamp,
Id``, or ``CreatedDate`` for the history objects) from where its cursor stands, one page at a time. A page's
touches (and dead letters, for records that cannot become one) are produced, and only once the broker has
acknowledged every one of them does the cursor move to the page's last record: a sync killed at any point
repeats at most one page when it restarts, and the pipeline's de-duplication on ``(source, event_id)`` takes
the repeats out. Cursors live beside the lake (``_sync/salesforce/<org id>.json``), one file per org, each write
replacing the file whole (a temporary file renamed over it; an object store's put).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from schemas.crm import Export, crm_time
from schemas.salesforce_records import OBJECTS, SalesforceObject, convert_records, selected_fields
from schemas.touch import FieldError, TouchEvent
from sinks.storage import Storage
from streams import topics
from streams.crm.salesforce_api import SalesforceClient, id_literal
from streams.runtime.librdkafka_clients import produce_waiting
from streams.runtime.records import dead_letter, dumps, touch_key
from transforms.privacy import pseudonymize

_ID_CHUNK = 300  # opportunity ids per aggregate query (SOQL statements stay far below 100,000 characters)


@dataclass(frozen=True)
class Cursor:
    """Where an object's sync stands: the cursor field's value and the id of the last record produced (``id``
    empty: nothing produced yet, read from ``at`` inclusive, as ``--since`` gives it)."""

    at: str
    id: str = ""


class Cursors:
    """One org's cursors, in ``_sync/salesforce/<org>.json`` under the lake's root."""

    def __init__(self, storage: Storage, org: str) -> None:
        self.storage = storage
        self.parts = ("_sync", "salesforce", f"{org}.json")
        raw = storage.read_bytes(*self.parts)
        stored = json.loads(raw)["objects"] if raw else {}
        self.cursors = {name: Cursor(**value) for name, value in stored.items()}

    def get(self, name: str) -> Cursor | None:
        return self.cursors.get(name)

    def move(self, name: str, cursor: Cursor) -> None:
        """Move one object's cursor, durably."""
        self.cursors[name] = cursor
        document = {"objects": {n: {"at": c.at, "id": c.id} for n, c in sorted(self.cursors.items())}}
        self.storage.write_bytes(json.dumps(document, indent=1).encode(), *self.parts)


def soql_time(value: str) -> str:
    """A Salesforce date-time (``2026-01-05T10:00:00.000+0000``) or a date as a SOQL date-time literal, UTC, to
    the second as SOQL writes them (Salesforce keeps seconds: its stamps end ``.000``; were one finer, the
    cursor condition would read the boundary second again, never skip it)."""
    return crm_time(value)[0].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql(sobject: SalesforceObject, fields: list[str], cursor: Cursor | None) -> str:
    """The query of ``sobject``'s records after ``cursor``, in cursor order."""
    field = sobject.cursor
    names = fields + [n for n in (field, "Id") if n not in fields]
    where = ""
    if cursor is not None:
        at = soql_time(cursor.at)
        where = (f" WHERE ({field} > {at} OR ({field} = {at} AND Id > {id_literal(cursor.id)}))" if cursor.id
                 else f" WHERE {field} >= {at}")
    return f"SELECT {', '.join(names)} FROM {sobject.name}{where} ORDER BY {field} ASC, Id ASC"


class Deliveries:
    """Counts what the broker acknowledged of what was produced, and the first refusal."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.error: Any = None

    def __call__(self, error: Any, _: Any) -> None:
        if error is not None:
            with self.lock:
                self.error = self.error or error


class SalesforceSync:
    """Brings one org's objects up to date on ``touches-raw-v1`` (and ``touches-dlq-v1``)."""

    def __init__(self, client: SalesforceClient, producer: Producer, storage: Storage, org: str, *,
                 currency: str | None = None, since: str | None = None, salt: str | None = None,
                 say: Callable[[str], None] = print, stopped: Callable[[], bool] = lambda: False) -> None:
        self.client, self.producer, self.org = client, producer, org
        self.export = Export(f"salesforce:{org}", currency)
        self.cursors = Cursors(storage, org)
        self.since, self.salt, self.say, self.stopped = since, salt, say, stopped
        self.fields: dict[str, list[str]] = {}

    def run_once(self, objects: tuple[SalesforceObject, ...] = OBJECTS) -> dict[str, int]:
        """Every object's records since its cursor; the touches produced of each (until ``stopped()``, checked
        between pages)."""
        return {sobject.name: self.sync_object(sobject) for sobject in objects if not self.stopped()}

    def sync_object(self, sobject: SalesforceObject) -> int:
        if sobject.name not in self.fields:
            self.fields[sobject.name] = selected_fields(sobject, self.client.field_names(sobject.name))
        cursor = self.cursors.get(sobject.name) or (Cursor(self.since) if self.since else None)
        produced = 0
        for page in self.client.pages(soql(sobject, self.fields[sobject.name], cursor)):
            if self.stopped():
                break
            if not page:
                continue
            produced += self._produce_page(sobject, page)
            last = page[-1]
            self.cursors.move(sobject.name, Cursor(str(last[sobject.cursor]), str(last["Id"])))
        return produced

    def _earliest(self, page: list[dict[str, Any]]) -> dict[str, Any]:
        """Opportunity id → the CreatedDate of its first OpportunityHistory row, for the page's opportunities."""
        ids = sorted({str(r["OpportunityId"]) for r in page if r.get("OpportunityId")})
        earliest: dict[str, Any] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ", ".join(id_literal(i) for i in ids[start:start + _ID_CHUNK])
            for answer in self.client.pages(f"SELECT OpportunityId, MIN(CreatedDate) FROM OpportunityHistory "
                                            f"WHERE OpportunityId IN ({chunk}) GROUP BY OpportunityId"):
                earliest |= {str(row["OpportunityId"]): row["expr0"] for row in answer}
        return earliest

    def _produce_page(self, sobject: SalesforceObject, page: list[dict[str, Any]]) -> int:
        """Produce one page's touches and dead letters; return once the broker acknowledged all of them."""
        earliest = self._earliest(page) if sobject.kind == "opportunity_history" else None
        deliveries = Deliveries()
        touches = 0
        letters: dict[int, int] = {}
        for index, result in convert_records(sobject, page, self.export, earliest):
            if isinstance(result, TouchEvent):
                produce_waiting(self.producer, topics.TOUCHES_RAW,
                                dumps(pseudonymize(result.to_wire(), self.salt)),
                                touch_key(result.source, result.event_id), on_delivery=deliveries)
                touches += 1
            elif isinstance(result, list):
                record: Mapping[str, Any] | list[Any] = page if index is None else page[index]
                number = letters[index or 0] = letters.get(index or 0, -1) + 1
                self._dead_letter(sobject, record, result, number, deliveries)
                self.producer.poll(0)
        if self.producer.flush(120) > 0:
            raise RuntimeError("not every record reached the broker within 120 s; the cursor stays where it was")
        if deliveries.error is not None:
            raise RuntimeError(f"the broker refused a record ({deliveries.error}); the cursor stays where it was")
        return touches

    def _dead_letter(self, sobject: SalesforceObject, record: Mapping[str, Any] | list[Any],
                     errors: list[FieldError], number: int, deliveries: Deliveries) -> None:
        record_id = record.get("Id") if isinstance(record, Mapping) else "page"
        raw = json.dumps(record, default=str).encode()
        now = datetime.now(UTC)
        # Coordinates of a sync's dead letter: the org, object and record, and which of its results it is.
        key, value = dead_letter(raw, errors, f"salesforce:{self.org}/{sobject.name}/{record_id}", 0, number,
                                 int(now.timestamp() * 1000))
        self.say(f"salesforce: {sobject.name} {record_id}: {'; '.join(str(e) for e in errors)} (dead letter)")
        produce_waiting(self.producer, topics.TOUCHES_DLQ, value, key, on_delivery=deliveries)
