"""``touchline sync hubspot``: deals, contacts and companies changed since a durable cursor, as touches.

Per object type, the CRM search API ("CRM API | Search") lists what changed at or after the
cursor (``hs_lastmodifieddate``, contacts' ``lastmodifieddate``), oldest first, 100 a page, paged
with ``after``. The search answers neither associations nor stage history, so each record found
is read again by id and converted by :class:`streams.hubspot_objects.HubspotObjects`, as the
webhook stage does: the same record gives the same touches by export file, webhook or sync.

The cursor of each type lives beside the lake (``_state/sync/hubspot-<portal>/<type>.json``,
replaced whole) and moves to a page's newest change only once the page's touches are
acknowledged by the broker. A sync killed at any point resumes at its cursor: it reads the records
of that instant again and their touches are the same keys, which the pipeline de-duplicates.
A search reaches at most 10,000 results, so a longer backlog is read as several searches, each
from the cursor the previous one left.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.crm import crm_time
from schemas.touch import FieldError
from sinks.storage import Storage
from streams import topics
from streams.hubspot_api import PROPERTIES, HubspotError
from streams.hubspot_objects import HubspotObjects
from streams.records import dead_letter, dumps, touch_key
from transforms.privacy import pseudonymize

log = logging.getLogger(__name__)
#: The property each object type's changes are found by.
MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate"}
SEARCH_RESULTS = 10_000  # HubSpot's search answers no further into one query


class Cursors:
    """Where each object type's sync stands (epoch milliseconds of the newest change produced), beside the lake."""

    def __init__(self, lake: str, portal: object) -> None:
        self.storage = Storage(lake)
        self.folder = ("_state", "sync", f"hubspot-{portal}")

    def get(self, object_path: str) -> int | None:
        found = self.storage.read_bytes(*self.folder, f"{object_path}.json")
        return None if found is None else int(json.loads(found)["modified_ms"])

    def put(self, object_path: str, modified_ms: int) -> None:
        self.storage.write_bytes(dumps({"modified_ms": modified_ms}), *self.folder, f"{object_path}.json")


def _modified_ms(record: dict[str, Any], object_path: str) -> int:
    properties = record.get("properties") or {}
    value = properties.get(MODIFIED[object_path]) or record.get("updatedAt")
    return int(crm_time(value)[0].timestamp() * 1000)


@dataclass
class HubspotSync:
    """``send(topic, key, value)`` produces; ``flush()`` returns once the broker acknowledged everything sent."""

    objects: HubspotObjects
    cursors: Cursors
    portal: object
    send: Callable[[str, bytes, bytes], None]
    flush: Callable[[], None]
    salt: str | None = None
    page_size: int = 100
    counts: dict[str, int] = field(default_factory=lambda: {"touches": 0, "dead_letters": 0, "records": 0})

    def _query(self, object_path: str, since_ms: int, after: str | None) -> dict[str, Any]:
        modified = MODIFIED[object_path]
        body: dict[str, Any] = {
            "filterGroups": [{"filters": [{"propertyName": modified, "operator": "GTE", "value": str(since_ms)}]}],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": list(PROPERTIES[object_path]), "limit": self.page_size}
        if after is not None:
            body["after"] = after
        return body

    def _produce(self, object_path: str, record: dict[str, Any]) -> None:
        object_id = str(record["id"])
        try:
            touches, errors = self.objects.read(object_path, object_id, self.portal)
        except HubspotError as error:
            if error.status in (401, 403):
                raise
            touches, errors = [], [FieldError("id", f"HubSpot {object_path} {object_id}: {error}")]
        for touch in touches:
            self.send(topics.TOUCHES_RAW, touch_key(touch.source, touch.event_id),
                      dumps(pseudonymize(touch.to_wire(), self.salt)))
        if errors:
            offset = int(object_id) if object_id.isdigit() else 0
            self.send(topics.TOUCHES_DLQ, *dead_letter(dumps(record), errors, f"hubspot-sync:{object_path}", 0,
                                                       offset, None))
        self.counts["touches"] += len(touches)
        self.counts["dead_letters"] += bool(errors)
        self.counts["records"] += 1

    def sync(self, object_path: str, since_ms: int = 0) -> None:
        """Everything of one type changed since its cursor (``since_ms`` when it has none) to now."""
        cursor = self.cursors.get(object_path)
        since = since_ms if cursor is None else cursor
        after: str | None = None
        while True:
            page = self.objects.api.search(object_path, self._query(object_path, since, after))
            results = page.get("results") or []
            for record in results:
                self._produce(object_path, record)
            if results:
                self.flush()  # acknowledged: only now may the cursor cover them
                newest = max(_modified_ms(record, object_path) for record in results)
                self.cursors.put(object_path, newest)
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results:
                return
            if after.isdigit() and int(after) >= SEARCH_RESULTS:
                # a new search, from where this one got to (records of that instant are read again)
                since, after = (self.cursors.get(object_path) or since), None
