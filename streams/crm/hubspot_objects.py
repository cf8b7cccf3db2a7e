"""HubSpot CRM objects as touches: read one by id, convert it as ``touchline import hubspot`` would.

Deals, contacts, companies, and the calls, meetings and e-mails the converters make touches of. Shared by the
webhook stage (``streams.stages.fetch_hubspot``) and ``touchline sync hubspot``,
so a record gives the same touches whichever way it was heard of. Deals' closed stages come from
the portal's pipelines, read once and again when a deal is in a stage they did not list.
"""

from __future__ import annotations

from typing import Any

from schemas import crm
from schemas.hubspot import closed_stages, with_activity_type
from schemas.touch import FieldError, TouchEvent
from streams.crm.hubspot_api import HubspotApi


class HubspotObjects:
    """Reads through ``api``; ``currency`` is the portal's, for deals without one of their own (unset: the
    portal's ``companyCurrency``, read when a deal needs it)."""

    def __init__(self, api: HubspotApi, currency: str | None = None) -> None:
        self.api = api
        self.currency = currency
        self.closed: dict[str, str] | None = None  # deal stage id -> closedwon / closedlost
        self.known_stages: set[str] = set()  # every stage of the pipelines read
        self.stages_read_for: set[str] = set()  # stages the pipelines were read again for

    def closed_stages(self, stage: str | None) -> dict[str, str]:
        """The pipelines' closed stages, read again (once per stage) when ``stage`` is not one they listed."""
        if self.closed is None or (stage and stage not in self.known_stages and stage not in self.stages_read_for):
            if stage and self.closed is not None:
                self.stages_read_for.add(stage)
            pipelines = self.api.deal_pipelines()
            self.closed = closed_stages(pipelines)
            self.known_stages = {str(found.get("id")) for pipeline in pipelines.get("results") or []
                                 for found in pipeline.get("stages") or []}
        return self.closed

    def convert(self, path: str, record: dict[str, Any], portal: object) -> tuple[list[TouchEvent], list[FieldError]]:
        """The touches of one v3 record read as :meth:`read` reads it, and the problems of what is no touch."""
        properties = record.get("properties") or {}
        stages = self.closed_stages(properties.get("dealstage")) if path == "deals" else None
        if path == "deals" and self.currency is None and not properties.get("deal_currency_code"):
            self.currency = self.api.account_details().get("companyCurrency")  # the portal's, read once
        export = crm.Export(f"hubspot:{portal}", self.currency, closed_stages=stages)
        touches: list[TouchEvent] = []
        errors: list[FieldError] = []
        for _, result in crm.hubspot_rows([with_activity_type(path, record)], export):
            if isinstance(result, TouchEvent):
                touches.append(result)
            elif isinstance(result, list):
                errors += [FieldError(f"{path}/{record.get('id')}.{e.field}", e.problem) for e in result]
        return touches, errors

    def read(self, path: str, object_id: str, portal: object) -> tuple[list[TouchEvent], list[FieldError]]:
        """Read one object and convert it; raises :class:`~streams.crm.hubspot_api.HubspotError` if unreadable."""
        return self.convert(path, self.api.read_object(path, object_id), portal)
