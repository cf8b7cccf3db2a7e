"""``touchline sync hubspot``: deals, contacts and companies changed since a durable cursor, as touches.

Per object type, the CRM search API ("CRM API | Search") lists what changed at or after the
cursor (``hs_lastmodifieddate``, contacts' ``lastmodifieddate``), oldest first, 100 a page. The
search answers neither associations nor stage history, so each record found is read again by id
and converted by :class:`streams.crm.hubspot_objects.HubspotObjects`, as the webhook stage does: the
same record gives the same touches by export file, webhook or sync. Deals, contacts and companies,
and the engagements the converters make touches of: calls, meetings and e-mails.

Each page is a new search from the newest change produced so far (``GTE``: the records of that
instant come again and those already produced are passed over). Paging one search with ``after``
(an offset) would lose a record whenever one read earlier changes mid-sync and leaves its place,
shifting the next page over an unread one; ``after`` is used only through a page whose records all
changed at one instant. The cursor of each type lives beside the lake
(``_state/sync/hubspot-<portal>/<type>.json``, replaced whole) and moves to a page's newest change
only once the page's touches are acknowledged by the broker. A sync killed at any point resumes at
its cursor: it reads the records of that instant again and their touches are the same keys, which
the pipeline de-duplicates.
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
from streams.crm.hubspot_api import PROPERTIES, HubspotError
from streams.crm.hubspot_objects import HubspotObjects
from streams.runtime.records import dead_letter, dumps, touch_key
from transforms.privacy import pseudonymize

log = logging.getLogger(__name__)
#: The property each object type's changes are found by.
MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "calls": "hs_lastmodifieddate", "meetings": "hs_lastmodifieddate", "emails": "hs_lastmodifieddate"}
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
    stopped: Callable[[], bool] = lambda: False  # checked between pages: a stop leaves every page acknowledged
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
        """Everything of one type changed since its cursor (``since_ms`` when it has none) to now, a page at a time
        until ``stopped()``."""
        cursor = self.cursors.get(object_path)
        since = since_ms if cursor is None else cursor
        produced: set[tuple[str, int]] = set()  # (id, change) of what this pass produced, from ``since`` on
        after: str | None = None
        while not self.stopped():
            page = self.objects.api.search(object_path, self._query(object_path, since, after))
            results = page.get("results") or []
            if not results:
                return
            changes = [(str(record["id"]), _modified_ms(record, object_path)) for record in results]
            for record, change in zip(results, changes, strict=True):
                if change not in produced:
                    self._produce(object_path, record)
            self.flush()  # acknowledged: only now may the cursor cover them
            newest = max(at for _, at in changes)
            self.cursors.put(object_path, newest)
            following = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not following:
                return
            if min(at for _, at in changes) < newest:  # a new search from the newest change produced
                since, after = newest, None
            elif not (following.isdigit() and int(following) >= SEARCH_RESULTS):
                after = following  # a whole page changed at one instant: on through this search
            else:
                log.warning("hubspot %s: over %s records changed at %s ms; the search window ends there and the "
                            "sync goes on after that instant", object_path, SEARCH_RESULTS, newest)
                since, after = newest + 1, None
            produced = {change for change in produced | set(changes) if change[1] >= since}
