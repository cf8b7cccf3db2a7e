"""The HTTP collector: Segment-compatible endpoints in front of ``touches-raw-v1``.

``POST /v1/batch`` (also ``/v1/import``), ``/v1/track``, ``/v1/page``, ``/v1/screen``,
``/v1/identify``, ``/v1/group``, ``/v1/alias``, and the short paths analytics.js posts from a
browser (``/v1/t``, ``/v1/p``, ``/v1/s``, ``/v1/i``, ``/v1/g``, ``/v1/a``). A write key comes as
Segment's libraries send it: the HTTP Basic user name, or ``writeKey`` in the body (analytics.js
posts ``text/plain`` without an auth header, and ``sendBeacon`` can send nothing else), or a
``writeKey`` query parameter. Write keys are stored as SHA-256 hashes
(``TOUCHLINE_WRITE_KEYS=source=hash,...``) and compared in constant time; each key names the
``source`` its touches carry. Browsers may send only from the origins allowed for that source
(``TOUCHLINE_ALLOWED_ORIGINS``; none by default), with CORS preflights answered accordingly.

Like Segment's HTTP API, a batch is never refused for one bad call: every call that becomes a
touch is produced, every one that cannot goes to the dead-letter topic with its reason, and the
answer is 200 with the counts (a single-call endpoint answers 400 for its call). 400, 401, 403,
408 and 413 are for a request bad as a whole: not JSON, no key, an origin not allowed, a body too
slow or too large. The answer is sent once the broker has acknowledged every record.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from confluent_kafka import KafkaException, Producer

from schemas import segment
from schemas.event_map import EventMap
from schemas.touch import FieldError, TouchEvent, decode_json_object
from streams import topics
from streams.collector.hubspot_webhooks import HubspotWebhooks, HubspotWebhookSettings
from streams.collector.request_body import BodyProblem, json_problem, read_body
from streams.collector.salesforce_outbound import OutboundSettings, SalesforceOutbound
from streams.runtime.librdkafka_clients import produce_waiting
from streams.runtime.records import dead_letter, dumps, touch_key
from streams.settings import Settings
from transforms.privacy import pseudonymize

CALLS = ("track", "page", "screen", "identify", "group", "alias")
#: analytics.js posts each call to the first letter of its type.
SHORT_PATHS = {call[0]: call for call in CALLS}
BATCH_PATHS = ("/v1/batch", "/v1/import")


def hash_key(write_key: str) -> str:
    """How a write key is stored: its SHA-256, hex."""
    return hashlib.sha256(write_key.encode()).hexdigest()


def new_write_key(source: str) -> tuple[str, str]:
    """A fresh random write key and its ``source=hash`` configuration entry."""
    key = secrets.token_urlsafe(24)
    return key, f"{source}={hash_key(key)}"


def parse_write_keys(config: str) -> dict[str, str]:
    """``source=hash,source=hash`` → {hash: source}. Several hashes per source allow rotation."""
    keys = {}
    for entry in filter(None, (part.strip() for part in config.split(","))):
        source, _, digest = entry.partition("=")
        if len(digest) != 64:
            raise ValueError(f"TOUCHLINE_WRITE_KEYS entry {entry!r} is not source=<sha256 hex>")
        keys[digest.lower()] = source
    return keys


def parse_allowed_origins(config: str) -> dict[str, frozenset[str]]:
    """``source=origin origin,source=origin`` → {source: origins}."""
    allowed: dict[str, set[str]] = {}
    for entry in filter(None, (part.strip() for part in config.split(","))):
        source, _, origins = entry.partition("=")
        if not origins.strip() or any(not o.startswith(("http://", "https://")) or o.endswith("/")
                                      for o in origins.split()):
            raise ValueError(f"TOUCHLINE_ALLOWED_ORIGINS entry {entry!r} is not source=<scheme://host[:port]> ...")
        allowed.setdefault(source.strip(), set()).update(origins.split())
    return {source: frozenset(origins) for source, origins in allowed.items()}


def authenticate(header: str | None, keys: Mapping[str, str]) -> str | None:
    """The source a Basic ``Authorization`` header's write key belongs to, or None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user = base64.b64decode(header[6:], validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None
    return source_of_key(user, keys)


def source_of_key(write_key: object, keys: Mapping[str, str]) -> str | None:
    """The source a write key belongs to, or None."""
    if not isinstance(write_key, str) or not write_key:
        return None
    digest = hash_key(write_key)
    found = None
    for stored, source in keys.items():  # compare with every key, in constant time each
        if hmac.compare_digest(stored, digest):
            found = source
    return found


@dataclass(frozen=True)
class CollectorSettings:
    """The collector's settings, read once: where it listens, its parsed write keys, browser origins and event
    map, its limits, and the salt e-mails are pseudonymized with before anything is produced."""

    host: str
    port: int
    keys: Mapping[str, str]  # write key hash -> source
    origins: Mapping[str, frozenset[str]]  # source -> browser origins allowed to send with its keys
    event_map: EventMap
    max_body_bytes: int
    read_timeout_seconds: float
    salt: str | None
    hubspot: HubspotWebhookSettings | None = None  # POST /hubspot/webhooks, served only with the app's secret
    salesforce: OutboundSettings = field(default_factory=OutboundSettings)  # POST /salesforce/outbound

    @classmethod
    def read(cls, settings: Settings) -> CollectorSettings:
        """The collector's part of ``settings``; a bad write key, origin or event map entry raises a
        ``ValueError`` naming it (commands read this before anything starts)."""
        return cls(settings.collector_host, settings.collector_port, parse_write_keys(settings.write_keys),
                   parse_allowed_origins(settings.allowed_origins), EventMap.load(settings.event_map),
                   settings.collector_max_body_bytes, settings.collector_read_timeout_seconds,
                   settings.lake_settings().salt, HubspotWebhookSettings.read(settings),
                   salesforce=OutboundSettings.read(settings))


class Collector:
    """The aiohttp application and its producer."""

    def __init__(self, producer: Producer, settings: CollectorSettings) -> None:
        self.producer = producer
        self.settings = settings
        self.any_origin = frozenset().union(*settings.origins.values())
        self.accepted = 0
        self.rejected = 0

    def app(self) -> web.Application:
        application = web.Application(client_max_size=self.settings.max_body_bytes,
                                      middlewares=[self._cors])
        for path in (*BATCH_PATHS, "/beacon/v1/batch"):
            application.router.add_post(path, self.batch)
        for short, call in SHORT_PATHS.items():
            application.router.add_post(f"/v1/{call}", self._single(call))
            application.router.add_post(f"/v1/{short}", self._single(call))
        application.router.add_get("/health", self.health)
        if self.settings.hubspot is not None:
            self.hubspot = HubspotWebhooks(self.settings.hubspot, self._send, self.settings.read_timeout_seconds)
            self.hubspot.install(application)
        application.router.add_post("/salesforce/outbound", SalesforceOutbound(
            self._send, self.settings.salesforce, self.settings.salt, self.settings.read_timeout_seconds).handle)
        return application

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "accepted": self.accepted, "rejected": self.rejected})

    @web.middleware
    async def _cors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """CORS: a preflight passes for an origin some source allows; a response carries the headers
        only when the origin is allowed for the write key that was used (``request["origin_allowed"]``)."""
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if origin not in self.any_origin:
                return web.Response(status=403, text="origin not allowed")
            return web.Response(status=204, headers={
                **_cors_headers(origin), "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "Content-Type"),
                "Access-Control-Max-Age": "600"})
        response: web.StreamResponse = await handler(request)
        if origin and request.get("origin_allowed"):
            response.headers.update(_cors_headers(origin))
        return response

    def _send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """Produce one record; the future settles when the broker acknowledged it.

        librdkafka calls back on the poller thread (:func:`serve`), hence ``call_soon_threadsafe``.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def acknowledged(error: Any, _: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, KafkaException(error) if error else None)

        produce_waiting(self.producer, topic, value, key, on_delivery=acknowledged)
        return done

    async def _handle(self, request: web.Request, messages: list[Any] | FieldError, raw: bytes,
                      source: str, *, single: bool = False) -> web.Response:
        received = datetime.now(UTC)
        accepted: list[TouchEvent] = []
        messages_errors: list[tuple[int, list[FieldError]]] = []
        if isinstance(messages, FieldError):
            messages_errors.append((0, [messages]))
        else:
            for index, message in enumerate(messages):
                result = segment.convert_call(message, received_at=received, source=source,
                                              event_map=self.settings.event_map)
                if result and isinstance(result[0], TouchEvent):
                    accepted += result
                else:
                    messages_errors.append((index, result))
        futures = [self._send(topics.TOUCHES_RAW, touch_key(t.source, t.event_id),
                              dumps(pseudonymize(t.to_wire(), self.settings.salt))) for t in accepted]
        for index, errors in messages_errors:
            # Coordinates of an HTTP dead letter: the path, the call's index, the receive time in µs.
            key, value = dead_letter(raw, errors, f"http:{request.path}", index,
                                     int(received.timestamp() * 1_000_000), int(received.timestamp() * 1000))
            futures.append(self._send(topics.TOUCHES_DLQ, key, value))
        await asyncio.gather(*futures)
        self.accepted += len(accepted)
        self.rejected += len(messages_errors)
        refused = bool(messages_errors) and (single or isinstance(messages, FieldError))  # the request as a whole
        answer: dict[str, Any] = {"success": not refused, "accepted": len(accepted)}
        if messages_errors:
            answer |= {"dead_lettered": len(messages_errors), "errors": [
                {"index": index, "field": e.field, "problem": e.problem}
                for index, errors in messages_errors for e in errors]}
        return web.json_response(answer, status=400 if refused else 200)

    async def _read(self, request: web.Request) -> tuple[str, bytes, dict[str, Any] | FieldError] | web.Response:
        raw = await read_body(request, self.settings.read_timeout_seconds)
        if isinstance(raw, BodyProblem):
            return json_problem(raw)
        payload = decode_json_object(raw)
        source = authenticate(request.headers.get("Authorization"), self.settings.keys)
        if source is None:
            in_body = payload.get("writeKey") if isinstance(payload, dict) else None
            source = source_of_key(in_body or request.query.get("writeKey"), self.settings.keys)
        if source is None:
            return web.json_response({"error": "unknown or missing write key (HTTP Basic user name, or writeKey)"},
                                     status=401, headers={"WWW-Authenticate": 'Basic realm="touchline"'})
        origin = request.headers.get("Origin")
        if origin is not None:
            if origin not in self.settings.origins.get(source, ()):
                return web.json_response({"error": f"origin {origin[:100]!r} is not allowed for this write key "
                                                   "(TOUCHLINE_ALLOWED_ORIGINS)"}, status=403)
            request["origin_allowed"] = True
        return source, raw, payload

    async def batch(self, request: web.Request) -> web.Response:
        read = await self._read(request)
        if isinstance(read, web.Response):
            return read
        source, raw, payload = read
        messages = payload if isinstance(payload, FieldError) else segment.batch_messages(payload)
        return await self._handle(request, messages, raw, source)

    def _single(self, call: str):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.Response:
            read = await self._read(request)
            if isinstance(read, web.Response):
                return read
            source, raw, payload = read
            if isinstance(payload, FieldError):
                return await self._handle(request, payload, raw, source, single=True)
            return await self._handle(request, [{**payload, "type": payload.get("type", call)}], raw, source,
                                      single=True)
        return handler


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if not done.done():
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def collector_application(bootstrap: str, settings: Settings, collector: CollectorSettings) -> web.Application:
    """The collector as an aiohttp application producing to ``bootstrap`` (flushed when the app stops); ``settings``
    says how to reach Kafka."""
    from streams.runtime.kafka_python_clients import create_topics
    from streams.runtime.librdkafka_clients import fast_producer

    create_topics(bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1, settings)
    if collector.hubspot is not None:
        create_topics(bootstrap, [topics.CRM_WEBHOOKS_RAW], settings.topic_partitions, settings)
    producer = fast_producer(bootstrap, settings, **{"linger.ms": 2})
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(producer, stop), name="collector-deliveries", daemon=True)
    poller.start()

    async def flush(_: web.Application) -> None:
        producer.flush(10)
        stop.set()
        poller.join(5)

    application = Collector(producer, collector).app()
    application.on_cleanup.append(flush)
    return application


def serve(bootstrap: str, settings: Settings, collector: CollectorSettings) -> None:
    """Run the collector until interrupted."""
    web.run_app(collector_application(bootstrap, settings, collector), host=collector.host, port=collector.port,
                print=None)


def _poll(producer: Producer, stop: threading.Event) -> None:
    """Serve librdkafka's delivery callbacks until stopped."""
    while not stop.is_set():
        producer.poll(0.05)

