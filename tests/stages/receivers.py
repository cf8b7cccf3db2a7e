"""Local HTTP receivers for the alert stage's tests, each on its own thread and port.

Shapes: Standard Webhooks (https://www.standardwebhooks.com/, verified with the reference
``standardwebhooks`` library); Slack incoming webhooks (api.slack.com, "Sending messages using
incoming webhooks": a JSON body with ``text`` and ``blocks``, answered ``ok``); Salesforce REST
"Insert or Update (Upsert) a Record Using an External ID" (PATCH .../sobjects/Task/<field>/<value>,
201 with ``{id, success, errors, created}``); HubSpot "Activities | Tasks" (POST /crm/v3/objects/tasks,
201 with the task's ``id`` and ``properties``); the account owner lookups: Salesforce "Get Field Values from a
Standard Object Record" (GET .../sobjects/Account/<id>?fields=OwnerId, 200 with ``attributes``, ``Id`` and the
fields asked), HubSpot CRM v3 "Companies" (GET /crm/v3/objects/companies/<id>?properties=hubspot_owner_id, 200
with ``id`` and ``properties``); :class:`HubSpotTasks` keeps the tasks it is given and answers HubSpot's CRM search
("Search the CRM": POST /crm/v3/objects/tasks/search with ``filterGroups`` of ``{propertyName, operator, value}``,
200 with ``total`` and ``results`` of ``{id, properties, createdAt, updatedAt, archived}``; ``CONTAINS_TOKEN``
matches a whole token, a leading or trailing ``*`` completing it).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
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
        if inspect.isawaitable(payload):
            payload = await payload
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


class HubSpotTasks:
    """A HubSpot portal's tasks, as a :class:`Receiver`'s ``answer``: a create keeps the task (201), a search finds
    tasks by ``CONTAINS_TOKEN``/``EQ`` filters, a company lookup names :data:`HUBSPOT_OWNER`. A create whose body
    names one of ``lose_answer_of`` keeps the task and then answers only after ``late`` seconds (the first time: a
    try that timed out after HubSpot made the task); one naming ``refuse_first`` is answered 503 the first time and
    kept nowhere."""

    def __init__(self, lose_answer_of: tuple[str, ...] = (), refuse_first: tuple[str, ...] = (),
                 late: float = 30.0) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.lose, self.refuse, self.late = set(lose_answer_of), set(refuse_first), late
        self.ids = itertools.count(9001)

    @staticmethod
    def _matches(task: dict[str, Any], rule: dict[str, Any]) -> bool:
        value = str(task["properties"].get(rule["propertyName"]) or "").lower()
        wanted = str(rule["value"]).lower()
        if rule["operator"] == "EQ":
            return value == wanted
        if rule["operator"] != "CONTAINS_TOKEN":
            raise web.HTTPBadRequest(text=json.dumps({"status": "error", "message": f"operator {rule['operator']}"}))
        return any(token.endswith(wanted[1:]) if wanted.startswith("*") else
                   token.startswith(wanted[:-1]) if wanted.endswith("*") else token == wanted
                   for token in value.split())

    async def __call__(self, request: web.Request, body: bytes) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response(hubspot_answer(request, body))
        asked = json.loads(body)
        if request.path.endswith("/search"):
            found = [task for task in self.tasks.values()
                     if any(all(self._matches(task, rule) for rule in group["filters"])
                            for group in asked.get("filterGroups", []))]
            wanted = set(asked.get("properties") or ["hs_task_subject"]) | {"hs_object_id"}
            return web.json_response({"total": len(found), "results": [
                {**task, "properties": {k: v for k, v in task["properties"].items() if k in wanted}}
                for task in found]})
        text = asked["properties"].get("hs_task_body", "")
        refused = next((lead for lead in self.refuse if lead in text), None)
        if refused is not None:
            self.refuse.discard(refused)
            return web.json_response({"status": "error", "message": "internal error"}, status=503)
        task_id = str(next(self.ids))
        self.tasks[task_id] = {"id": task_id, "properties": {**asked["properties"], "hs_object_id": task_id},
                               "createdAt": "2026-03-03T09:00:00Z", "updatedAt": "2026-03-03T09:00:00Z",
                               "archived": False}
        lost = next((lead for lead in self.lose if lead in text), None)
        if lost is not None:
            self.lose.discard(lost)
            await asyncio.sleep(self.late)
        return web.json_response(self.tasks[task_id], status=201)


def wait_for(condition: Callable[[], bool], poll: Callable[[], None] = lambda: None, timeout: float = 15.0) -> None:
    """Poll until ``condition`` holds (``poll`` runs between looks: the stage's tick)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        poll()
        time.sleep(0.01)
