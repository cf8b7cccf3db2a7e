"""``POST /hubspot/webhooks`` on the collector: HubSpot's webhook events, signed, onto ``crm-webhooks-raw-v1``.

HubSpot ("Webhooks API") posts a JSON array of up to 100 events and retries a delivery that is
not answered 2xx within 5 seconds. The route checks the request's v3 signature
(:func:`schemas.hubspot.signature_problem`), produces each event as received, keyed by portal and
``eventId`` so that every retry of an event lands on the same partition under the same key, and
answers once the broker has acknowledged them. Webhook events are thin: the worker's hubspot
stage (``streams.stages.fetch_hubspot``) reads the objects they name.

Answers: 200 with the count; 401 for a missing, stale or wrong signature and 400 for a body that is
not HubSpot's array of events (nothing is produced for either); 413/408 as the collector's other
routes; 503 when the broker did not take the events in time (HubSpot delivers them again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from confluent_kafka import KafkaException

from schemas.hubspot import signature_problem, webhook_events
from streams import topics
from streams.collector.request_body import BodyProblem, json_problem, read_body
from streams.runtime.records import dumps
from streams.settings import Settings

log = logging.getLogger(__name__)
PATH = "/hubspot/webhooks"
#: The broker gets this long to acknowledge, well inside HubSpot's 5 s.
ACK_SECONDS = 3.0

Send = Callable[[str, bytes, bytes], "asyncio.Future[None]"]


@dataclass(frozen=True)
class HubspotWebhookSettings:
    """The route's settings: the app's client secret, and the origin HubSpot calls when that is not the one the
    collector sees (a proxy in front)."""

    client_secret: str
    public_url: str | None = None

    @classmethod
    def read(cls, settings: Settings) -> HubspotWebhookSettings | None:
        """The route's settings, or None (no ``TOUCHLINE_HUBSPOT_CLIENT_SECRET``: the route is not served)."""
        if settings.hubspot_client_secret is None:
            return None
        return cls(settings.hubspot_client_secret.get_secret_value(), settings.hubspot_public_url)


def event_key(event: dict[str, object]) -> bytes:
    """The record key of an event: every delivery of one event has the same."""
    return f"hubspot|{event['portalId']}|{event['eventId']}".encode()


class HubspotWebhooks:
    """The route's handler; ``send`` produces one record and settles when the broker acknowledged it."""

    def __init__(self, settings: HubspotWebhookSettings, send: Send, read_timeout_seconds: float) -> None:
        self.settings = settings
        self.send = send
        self.read_timeout_seconds = read_timeout_seconds
        self.accepted = 0
        self.refused = 0

    def install(self, application: web.Application) -> None:
        application.router.add_post(PATH, self.handle)

    def uri(self, request: web.Request) -> str:
        """The full URI HubSpot called: its origin as configured (or as seen), then the path and query as sent."""
        origin = (self.settings.public_url or f"{request.scheme}://{request.host}").rstrip("/")
        return origin + request.raw_path

    async def handle(self, request: web.Request) -> web.Response:
        raw = await read_body(request, self.read_timeout_seconds)
        if isinstance(raw, BodyProblem):
            return json_problem(raw)
        problem = signature_problem(self.settings.client_secret, request.method, self.uri(request), raw,
                                    request.headers.get("X-HubSpot-Request-Timestamp"),
                                    request.headers.get("X-HubSpot-Signature-v3"), int(time.time() * 1000))
        if problem:
            self.refused += 1
            return web.json_response({"error": problem}, status=401)
        events = webhook_events(raw)
        if not isinstance(events, list):
            self.refused += 1
            return web.json_response({"error": str(events), "field": events.field, "problem": events.problem},
                                     status=400)
        try:
            await asyncio.wait_for(asyncio.gather(*(
                self.send(topics.CRM_WEBHOOKS_RAW, event_key(event), dumps(event)) for event in events)), ACK_SECONDS)
        except (TimeoutError, KafkaException) as error:
            log.warning("hubspot webhook: %s events not acknowledged by the broker (%s)", len(events), error)
            return web.json_response({"error": "events not stored; deliver them again"}, status=503)
        self.accepted += len(events)
        return web.json_response({"accepted": len(events)})
