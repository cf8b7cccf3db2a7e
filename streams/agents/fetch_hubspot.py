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
import logging
from typing import Any

from schemas import crm
from schemas.hubspot import closed_stages, object_to_fetch
from schemas.touch import FieldError, TouchEvent
from streams import topics
from streams.hubspot_api import HubspotApi, HubspotError
from streams.processor import Emit
from streams.records import dead_letter, dumps, touch_key
from streams.state import StateStore
from transforms.privacy import pseudonymize

log = logging.getLogger(__name__)


class FetchHubspot:
    """No state of its own: what it emits follows from the event and the object read for it."""

    name = "fetch-hubspot"
    source = topics.CRM_WEBHOOKS_RAW

    def __init__(self, api: HubspotApi, currency: str | None = None, salt: str | None = None) -> None:
        self.api = api
        self.currency = currency  # the portal's, for deals without a currency of their own
        self.salt = salt  # e-mails never leave in clear when set (as the import does)
        self.closed: dict[str, str] | None = None  # deal stage id -> closedwon / closedlost
        self.known_stages: set[str] = set()  # every stage of the pipelines read
        self.stages_read_for: set[str] = set()  # stages the pipelines were read again for
        self.dead = 0

    def open(self, partition: int, store: StateStore) -> None:
        """Nothing to take up: the stage keeps no state."""

    def close(self, partition: int) -> None:
        """Nothing to let go of."""

    def save(self, partition: int) -> None:
        """Nothing to save."""

    def _closed_stages(self, stage: str | None) -> dict[str, str]:
        """The pipelines' closed stages, read again (once per stage) when a deal's stage is not in the ones read."""
        if self.closed is None or (stage and stage not in self.known_stages and stage not in self.stages_read_for):
            if stage and self.closed is not None:
                self.stages_read_for.add(stage)
            pipelines = self.api.deal_pipelines()
            self.closed = closed_stages(pipelines)
            self.known_stages = {str(stage.get("id")) for pipeline in pipelines.get("results") or []
                                 for stage in pipeline.get("stages") or []}
        return self.closed

    def apply(self, partition: int, message: Any, emit: Emit) -> None:
        raw = message.value()

        def dead(errors: list[FieldError]) -> None:
            self.dead += 1
            emit(topics.TOUCHES_DLQ, *dead_letter(raw, errors, message.topic(), partition, message.offset(),
                                                  message.timestamp()[1]))

        event = json.loads(raw)  # the collector produced it from an event it checked
        target = object_to_fetch(event)
        if target is None:
            return
        path, object_id = target
        try:
            record = self.api.read_object(path, object_id)
            stages = self._closed_stages(record.get("properties", {}).get("dealstage")) if path == "deals" else None
        except HubspotError as error:
            if error.status in (401, 403):
                raise  # the token: every read would fail alike
            dead([FieldError("objectId", f"HubSpot {path} {object_id}: {error}")])
            return
        export = crm.Export(f"hubspot:{event['portalId']}", self.currency, closed_stages=stages)
        errors: list[FieldError] = []
        for _, result in crm.hubspot_rows([record], export):
            if isinstance(result, TouchEvent):
                emit(topics.TOUCHES_RAW, touch_key(result.source, result.event_id),
                     dumps(pseudonymize(result.to_wire(), self.salt)))
            elif isinstance(result, list):
                errors += [FieldError(f"{path}/{object_id}.{e.field}", e.problem) for e in result]
        if errors:
            dead(errors)
