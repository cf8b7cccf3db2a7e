"""``POST /salesforce/outbound`` on the collector: Salesforce Outbound Messages to ``touches-raw-v1``.

An Outbound Message (schemas/salesforce_outbound.py) from the org ``TOUCHLINE_SALESFORCE_ORG_ID`` names has
its Opportunity, Lead, Contact, Task and Event notifications converted as ``touchline sync salesforce`` converts
the same records (source ``salesforce:<org id>``, same ``event_id``), produced, and acknowledged with
``<Ack>true</Ack>`` once the broker has acknowledged every record; until then Salesforce keeps the message and
retries it, and a retried message lands on the same keys. Answers: 200 and the Ack; 400 for a body that is no
Outbound Message (a SOAP fault saying why); 403 for another org's message, nothing produced; 404 while no org is
configured; 413 for a body over the collector's limit; 503 if the broker did not take the records (no Ack:
Salesforce retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from aiohttp import web
from confluent_kafka import KafkaException

from schemas.crm import Export
from schemas.salesforce_outbound import ACK, SOAP, OutboundError, as_record, parse_outbound, same_org
from schemas.salesforce_records import OBJECTS_BY_NAME, convert_records
from schemas.touch import FieldError, TouchEvent
from streams import topics
from streams.collector.request_body import BodyProblem, read_body
from streams.runtime.records import dead_letter, dumps, touch_key
from streams.settings import Settings
from transforms.privacy import pseudonymize

PATH = "/salesforce/outbound"
#: The objects whose Outbound Messages become touches (the others are dead letters with the reason).
CONVERTED = ("Opportunity", "Lead", "Contact", "Task", "Event")

Send = Callable[[str, bytes, bytes], "asyncio.Future[None]"]


@dataclass(frozen=True)
class OutboundSettings:
    """The org whose Outbound Messages are taken (None: the route answers 404) and its currency, for a
    single-currency org's opportunities."""

    org_id: str | None = None
    currency: str | None = None

    @classmethod
    def read(cls, settings: Settings) -> OutboundSettings:
        currency = settings.crm_currency.upper() if settings.crm_currency else None
        return cls(settings.salesforce_org_id or None, currency)


def _fault(status: int, problem: str) -> web.Response:
    """A SOAP 1.1 fault: Salesforce shows its faultstring in the outbound message's delivery status."""
    code = "soapenv:Client" if status < 500 else "soapenv:Server"
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
            f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(problem)}</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return web.Response(status=status, text=body, content_type="text/xml")


class SalesforceOutbound:
    """The route's handler; ``send`` produces one record and settles once the broker acknowledged it."""

    def __init__(self, send: Send, settings: OutboundSettings, salt: str | None, read_timeout: float) -> None:
        self.send, self.settings, self.salt, self.read_timeout = send, settings, salt, read_timeout

    async def handle(self, request: web.Request) -> web.Response:
        if not self.settings.org_id:
            return _fault(404, "Outbound Messages are not taken here: set TOUCHLINE_SALESFORCE_ORG_ID to the org's id")
        raw = await read_body(request, self.read_timeout)
        if isinstance(raw, BodyProblem):
            limit = " (TOUCHLINE_COLLECTOR_MAX_BODY_BYTES)" if raw.status == 413 else ""
            return _fault(raw.status, raw.message + limit)
        try:
            message = parse_outbound(raw)
        except OutboundError as exc:
            return _fault(400, f"not a Salesforce Outbound Message: {exc}")
        if not same_org(message.organization_id, self.settings.org_id):
            return _fault(403, f"OrganizationId {message.organization_id[:18]!r} is not this collector's org "
                               "(TOUCHLINE_SALESFORCE_ORG_ID)")
        received = datetime.now(UTC)
        export = Export(f"salesforce:{message.organization_id}", self.settings.currency)
        futures = []
        for index, notification in enumerate(message.notifications):
            if notification.sobject not in CONVERTED:
                results: list[tuple[int | None, object]] = [(0, [FieldError(
                    "sObject", f"Outbound Messages of {notification.sobject} are not converted (those of "
                               f"{', '.join(CONVERTED)} are)")])]
            else:
                results = list(convert_records(OBJECTS_BY_NAME[notification.sobject], [as_record(notification)],
                                               export))
            for _, result in results:
                if isinstance(result, TouchEvent):
                    futures.append(self.send(topics.TOUCHES_RAW, touch_key(result.source, result.event_id),
                                             dumps(pseudonymize(result.to_wire(), self.salt))))
                elif isinstance(result, list):
                    # Coordinates of an outbound message's dead letter: the path and notification id, the
                    # notification's index, the receive time in µs.
                    key, value = dead_letter(raw, result, f"http:{PATH}/{notification.id}", index,
                                             int(received.timestamp() * 1_000_000), int(received.timestamp() * 1000))
                    futures.append(self.send(topics.TOUCHES_DLQ, key, value))
        try:
            await asyncio.gather(*futures)
        except KafkaException as exc:
            return _fault(503, f"the broker did not take the records ({exc}); Salesforce will retry the message")
        return web.Response(text=ACK, content_type="text/xml")
