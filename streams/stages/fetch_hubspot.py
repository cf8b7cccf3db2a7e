"""``fetch_hubspot``: HubSpot webhook events in, the touches of the objects they name out.

Webhook events are thin (an id and what changed), so each one is answered by reading its object
from the CRM v3 API as it is now and converting it with the converters the file import uses
(``schemas.crm.hubspot_rows``, source ``hubspot:<portalId>``): the same record becomes the same
touches, with the same ``event_id``, whichever way it came. Deals' won and lost stages come from
the portal's pipelines, read once and again when a deal is in a stage they do not name. Retried
and reordered deliveries read the same object and emit the same touches, which the resolve stage
de-duplicates on ``(source, event_id)``. An object that is gone (404), or that cannot become a
touch, is a dead letter with its reason; so is an event whose reads kept failing (429, 5xx) past
the client's bounded retries. A token HubSpot refuses (401, 403) stops the stage: nothing is
dead-lettered for a configuration error.
"""

from __future__ import annotations

import json

from schemas.hubspot import object_to_fetch
from schemas.touch import FieldError
from streams import topics
from streams.crm.hubspot_api import HubspotApi, HubspotError
from streams.crm.hubspot_objects import HubspotObjects
from streams.runtime.processor import Emit
from streams.runtime.records import Record, dead_letter, dumps, touch_key
from streams.runtime.state import StateStore
from transforms.privacy import pseudonymize


class FetchHubspot:
    """No state of its own: what it emits follows from the event and the object read for it."""

    name = "fetch-hubspot"
    source = topics.CRM_WEBHOOKS_RAW

    def __init__(self, api: HubspotApi, currency: str | None = None, salt: str | None = None) -> None:
        self.objects = HubspotObjects(api, currency)
        self.salt = salt  # e-mails never leave in clear when set (as the import does)
        self.dead = 0

    def open(self, partition: int, store: StateStore) -> None:
        """Nothing to take up: the stage keeps no state."""

    def close(self, partition: int) -> None:
        """Nothing to let go of."""

    def save(self, partition: int) -> None:
        """Nothing to save."""

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        raw = record.value

        def dead(errors: list[FieldError]) -> None:
            self.dead += 1
            emit(topics.TOUCHES_DLQ, *dead_letter(raw, errors, record.topic, partition, record.offset,
                                                  record.timestamp_ms))

        event = json.loads(raw)  # the collector produced it from an event it checked
        target = object_to_fetch(event)
        if target is None:
            return
        path, object_id = target
        try:
            touches, errors = self.objects.read(path, object_id, event["portalId"])
        except HubspotError as error:
            if error.status in (401, 403):
                raise  # the token: every read would fail alike
            dead([FieldError("objectId", f"HubSpot {path} {object_id}: {error}")])
            return
        for touch in touches:
            emit(topics.TOUCHES_RAW, touch_key(touch.source, touch.event_id),
                 dumps(pseudonymize(touch.to_wire(), self.salt)))
        if errors:
            dead(errors)
