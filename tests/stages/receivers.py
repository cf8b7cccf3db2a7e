"""Local HTTP receivers for the alert stage's tests, each on its own thread and port.

Shapes: Standard Webhooks (https://www.standardwebhooks.com/, verified with the reference
``standardwebhooks`` library); Slack incoming webhooks (api.slack.com, "Sending messages using
incoming webhooks": a JSON body with ``text`` and ``blocks``, answered ``ok``); Salesforce REST
"Insert or Update (Upsert) a Record Using an External ID" (PATCH .../sobjects/Task/<field>/<value>,
201 with ``{id, success, errors, created}``); HubSpot "Activities | Tasks" (POST /crm/v3/objects/tasks,
201 with the task's ``id`` and ``properties``); the account owner lookups: Salesforce "Get Field Values from a
Standard Object Record" (GET .../sobjects/Account/<id>?fields=OwnerId, 200 with ``attributes``, ``Id`` and the
fields asked), HubSpot CRM v3 "Companies" (GET /crm/v3/objects/companies/<id>?properties=hubspot_owner_id, 200
with ``id`` and ``properties``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web


class Receiver:
    """Records every request; answers with ``statuses`` in turn (the last one from then on), after ``delay``."""

    def __init__(self, statuses: tuple[int, ...] = (200,), *, delay: float = 0.0,
                 headers: dict[str, str] | None = None, answer: Callable[[web.Request, bytes], Any] | None = None):
        self.statuses, self.delay, self.extra_headers, self.answer = list(statuses), delay, headers or {}, answer
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.times: list[float] = []  # time.monotonic() of each request
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)  # a handler still sleeping is cut short
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.times.append(time.monotonic())
        self.requests.append((request.method, request.path, dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        payload = self.answer(request, body) if self.answer and status < 300 else {"ok": status < 300}
        if isinstance(payload, web.StreamResponse):  # an answer that chose its own status and headers
            return payload
        return web.json_response(payload, status=status, headers=self.extra_headers if status >= 300 else None)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, _, body in self.requests]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


SALESFORCE_OWNER, HUBSPOT_OWNER = "0055g00000OwNeRAAA", "77"


def salesforce_answer(request: web.Request, body: bytes) -> dict[str, Any]:
    if request.method == "GET":  # the account's owner
        account = request.path.rsplit("/", 1)[-1]
        return {"attributes": {"type": "Account", "url": request.path}, "Id": account, "OwnerId": SALESFORCE_OWNER}
    return {"id": "00T000000000001AAA", "success": True, "errors": [], "created": True}


def hubspot_answer(request: web.Request, body: bytes) -> dict[str, Any]:
    if request.method == "GET":  # the company's owner
        company = request.path.rsplit("/", 1)[-1]
        return {"id": company, "properties": {"hs_object_id": company, "hubspot_owner_id": HUBSPOT_OWNER},
                "archived": False}
    return {"id": "512", "properties": json.loads(body)["properties"], "archived": False}


def wait_for(condition: Callable[[], bool], poll: Callable[[], None] = lambda: None, timeout: float = 15.0) -> None:
    """Poll until ``condition`` holds (``poll`` runs between looks: the stage's tick)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        poll()
        time.sleep(0.01)
