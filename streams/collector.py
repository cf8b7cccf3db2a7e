"""The HTTP collector: Segment-compatible endpoints in front of ``touches-raw-v1``.

``POST /v1/batch``, ``/v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/identify``,
``/v1/group``, authenticated like Segment: HTTP Basic with the write key as the user name.
Write keys are stored as SHA-256 hashes (``TOUCHLINE_WRITE_KEYS=source=hash,...``) and
compared in constant time; each key names the ``source`` its touches carry. Valid calls are
converted to ``touch/1`` (clock skew corrected with the time the collector received them)
and produced; a response is sent once the broker has acknowledged them. Invalid calls go to
the dead-letter topic with their reason, and the response is 400 with the field errors.
Bodies over the size limit get 413; bodies that trickle in slower than the read timeout, 408.
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
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from confluent_kafka import KafkaException, Producer

from schemas import segment
from schemas.touch import FieldError, TouchEvent, decode_json_object
from streams import topics
from streams.records import dead_letter, dumps, touch_key
from streams.settings import Settings, salt_of
from transforms.privacy import pseudonymize

CALLS = ("track", "page", "screen", "identify", "group")


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


def authenticate(header: str | None, keys: Mapping[str, str]) -> str | None:
    """The source a Basic ``Authorization`` header's write key belongs to, or None."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user = base64.b64decode(header[6:], validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None
    digest = hash_key(user)
    found = None
    for stored, source in keys.items():  # compare with every key, in constant time each
        if hmac.compare_digest(stored, digest):
            found = source
    return found


class Collector:
    """The aiohttp application and its producer."""

    def __init__(self, producer: Producer, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings
        self.keys = parse_write_keys(settings.write_keys)
        self.accepted = 0
        self.rejected = 0

    def app(self) -> web.Application:
        application = web.Application(client_max_size=self.settings.collector_max_body_bytes)
        application.router.add_post("/v1/batch", self.batch)
        for call in CALLS:
            application.router.add_post(f"/v1/{call}", self._single(call))
        application.router.add_get("/health", self.health)
        return application

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "accepted": self.accepted, "rejected": self.rejected})

    def _send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """Produce one record; the future settles when the broker acknowledged it.

        librdkafka calls back on the poller thread (:func:`serve`), hence ``call_soon_threadsafe``.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def acknowledged(error: Any, _: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, KafkaException(error) if error else None)

        while True:
            try:
                self.producer.produce(topic, key=key, value=value, on_delivery=acknowledged)
                return done
            except BufferError:  # the local queue is full: let deliveries drain
                self.producer.poll(0.05)

    async def _handle(self, request: web.Request, messages: list[Any] | FieldError, raw: bytes,
                      source: str) -> web.Response:
        received = datetime.now(UTC)
        if isinstance(messages, FieldError):
            messages_errors = [(0, [messages])]
            accepted: list[TouchEvent] = []
        else:
            accepted, messages_errors = [], []
            for index, message in enumerate(messages):
                result = segment.convert(message, received_at=received, source=source)
                if isinstance(result, TouchEvent):
                    accepted.append(result)
                else:
                    messages_errors.append((index, result))
        salt = salt_of(self.settings)
        futures = [self._send(topics.TOUCHES_RAW, touch_key(t.source, t.event_id),
                              dumps(pseudonymize(t.to_wire(), salt))) for t in accepted]
        for index, errors in messages_errors:
            # Coordinates of an HTTP dead letter: the path, the call's index, the receive time in µs.
            key, value = dead_letter(raw, errors, f"http:{request.path}", index,
                                     int(received.timestamp() * 1_000_000), int(received.timestamp() * 1000))
            futures.append(self._send(topics.TOUCHES_DLQ, key, value))
        await asyncio.gather(*futures)
        self.accepted += len(accepted)
        self.rejected += len(messages_errors)
        if messages_errors:
            return web.json_response({"accepted": len(accepted), "errors": [
                {"index": index, "field": e.field, "problem": e.problem}
                for index, errors in messages_errors for e in errors]}, status=400)
        return web.json_response({"success": True, "accepted": len(accepted)})

    async def _read(self, request: web.Request) -> tuple[str, bytes, dict[str, Any] | FieldError] | web.Response:
        source = authenticate(request.headers.get("Authorization"), self.keys)
        if source is None:
            return web.json_response({"error": "unknown or missing write key (HTTP Basic user name)"},
                                     status=401, headers={"WWW-Authenticate": 'Basic realm="touchline"'})
        try:
            raw = await asyncio.wait_for(request.read(), self.settings.collector_read_timeout_seconds)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "body over the size limit"}, status=413)
        except TimeoutError:
            response = web.json_response({"error": "body not received in time"}, status=408)
            response.force_close()
            return response
        return source, raw, decode_json_object(raw)

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
                return await self._handle(request, payload, raw, source)
            return await self._handle(request, [{**payload, "type": payload.get("type", call)}], raw, source)
        return handler


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if not done.done():
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def collector_application(bootstrap: str, settings: Settings) -> web.Application:
    """The collector as an aiohttp application producing to ``bootstrap`` (flushed when the app stops)."""
    from streams.fast_clients import fast_producer
    from streams.kafka_clients import create_topics

    create_topics(bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1, settings)
    producer = fast_producer(bootstrap, settings, **{"linger.ms": 2})
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(producer, stop), name="collector-deliveries", daemon=True)
    poller.start()

    async def flush(_: web.Application) -> None:
        producer.flush(10)
        stop.set()
        poller.join(5)

    application = Collector(producer, settings).app()
    application.on_cleanup.append(flush)
    return application


def serve(bootstrap: str, settings: Settings) -> None:
    """Run the collector until interrupted."""
    web.run_app(collector_application(bootstrap, settings), host=settings.collector_host,
                port=settings.collector_port, print=None)


def _poll(producer: Producer, stop: threading.Event) -> None:
    """Serve librdkafka's delivery callbacks until stopped."""
    while not stop.is_set():
        producer.poll(0.05)

