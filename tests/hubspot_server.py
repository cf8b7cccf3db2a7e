"""A local HubSpot CRM v3 API for tests (aiohttp on 127.0.0.1, in a thread), and signed webhook requests.

Shapes, from HubSpot's developer docs: "CRM API | Deals / Contacts / Companies" (``GET
/crm/v3/objects/{type}/{id}``: ``id``, ``properties`` (only those asked for, unset ones null),
``propertiesWithHistory``, ``associations.{type}.results[].id``, ``createdAt``, ``archived``); "CRM
API | Pipelines" (``GET /crm/v3/pipelines/deals``); "API usage guidelines" (429 with ``Retry-After``
and ``errorType: RATE_LIMIT``); errors as ``{"status": "error", "message", "category", "correlationId"}``;
"Webhooks API" (the event fields) and "Validating requests" (the v3 signature headers); "CRM API | Search"
(``POST /crm/v3/objects/{type}/search``); "CRM API | Calls", "CRM API | Meetings", "CRM API | Email" (the
engagement objects: ``hs_timestamp``, ``hs_call_title``/``hs_call_direction``, ``hs_meeting_title``/
``hs_meeting_start_time``, ``hs_email_direction``/``hs_email_subject``, associations to contacts and companies).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from aiohttp import web

from schemas.hubspot import signature_v3
from streams.runtime.broker import free_port

TOKEN = "pat-na1-test-token"
SECRET = "test-client-secret"
PORTAL = 62515


def _stage(stage_id: str, label: str, order: int, closed: bool, probability: str) -> dict[str, Any]:
    return {"id": stage_id, "label": label, "displayOrder": order,
            "metadata": {"isClosed": str(closed).lower(), "probability": probability}}


PIPELINES = {"results": [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False, "stages": [
        _stage("appointmentscheduled", "Appointment Scheduled", 0, False, "0.2"),
        _stage("closedwon", "Closed Won", 5, True, "1.0"), _stage("closedlost", "Closed Lost", 6, True, "0.0")]},
    {"id": "7788", "label": "Partner deals", "displayOrder": 1, "archived": False, "stages": [
        _stage("1101", "Partner qualified", 0, False, "0.4"), _stage("1102", "Partner won", 1, True, "1.0"),
        _stage("1103", "Partner lost", 2, True, "0.0")]},
]}


def error(status: int, message: str, category: str, **extra: Any) -> web.Response:
    return web.json_response({"status": "error", "message": message, "category": category,
                              "correlationId": "00000000-0000-0000-0000-000000000000", **extra}, status=status)


class FakeHubspot:
    """``records``: path → id → the whole v3 record; ``throttled`` / ``failing``: (path, id) → how many reads
    answer 429 (Retry-After: 1) / 502 first. ``reads`` logs (path, id, monotonic time) of every object read."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.throttled: dict[tuple[str, str], int] = {}
        self.failing: dict[tuple[str, str], int] = {}
        self.reads: list[tuple[str, str, float]] = []
        self.pipeline_reads = 0
        self.searches: list[dict[str, Any]] = []
        self.page_cap = 100  # HubSpot's search pages hold at most this many (the client follows paging anyway)
        self.before_search: Any = None  # called with the number of searches so far, before each is answered
        self.read_count = 0
        self.reads_seen = threading.Condition()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def add(self, path: str, record: dict[str, Any]) -> None:
        self.records[path][str(record["id"])] = record

    def wait_for_reads(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` objects have been read in all."""
        with self.reads_seen:
            if not self.reads_seen.wait_for(lambda: self.read_count >= count, timeout):
                raise TimeoutError(f"{self.read_count} reads after {timeout} s, not {count}")

    async def read(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        path, object_id = request.match_info["path"], request.match_info["id"]
        self.reads.append((path, object_id, time.monotonic()))
        with self.reads_seen:
            self.read_count += 1
            self.reads_seen.notify_all()
        if self.throttled.get((path, object_id), 0) > 0:
            self.throttled[(path, object_id)] -= 1
            return web.json_response({"status": "error", "message": "You have reached your secondly limit.",
                                      "errorType": "RATE_LIMIT", "policyName": "SECONDLY",
                                      "correlationId": "00000000-0000-0000-0000-000000000000"},
                                     status=429, headers={"Retry-After": "1"})
        if self.failing.get((path, object_id), 0) > 0:
            self.failing[(path, object_id)] -= 1
            return web.Response(status=502, text="Bad Gateway")
        record = self.records[path].get(object_id)
        if record is None:
            return error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                         context={"id": [object_id]})
        asked = request.query.get("properties", "").split(",")
        answer: dict[str, Any] = {
            "id": record["id"], "createdAt": record["createdAt"], "updatedAt": record.get("updatedAt"),
            "archived": False,
            "properties": {name: record["properties"].get(name) for name in asked if name}
            | {"hs_object_id": record["id"]}}
        history = [h for h in request.query.get("propertiesWithHistory", "").split(",") if h]
        if history:
            answer["propertiesWithHistory"] = {name: (record.get("propertiesWithHistory") or {}).get(name, [])
                                               for name in history}
        for kind in [k for k in request.query.get("associations", "").split(",") if k]:
            found = (record.get("associations") or {}).get(kind)
            if found:
                answer.setdefault("associations", {})[kind] = found
        return web.json_response(answer)

    async def search(self, request: web.Request) -> web.Response:
        """"CRM API | Search": filters (only GTE on the modified property here), ascending sort, ``after`` as the
        offset; answers at most ``page_cap`` results a page, without associations, as HubSpot's search does."""
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        path, query = request.match_info["path"], await request.json()
        self.searches.append(query)
        if self.before_search is not None:
            self.before_search(len(self.searches))
        (condition,) = query["filterGroups"][0]["filters"]
        (order,) = query["sorts"]
        assert condition["operator"] == "GTE" and order["direction"] == "ASCENDING"
        name = condition["propertyName"]

        def modified(record: dict[str, Any]) -> int:
            return int(datetime.fromisoformat(record["properties"][name].replace("Z", "+00:00")).timestamp() * 1000)

        found = sorted((r for r in self.records[path].values() if modified(r) >= int(condition["value"])),
                       key=lambda r: (modified(r), int(r["id"])))
        start = int(query.get("after") or 0)
        if start >= 10_000:
            return error(400, "Cannot page beyond 10000 results", "VALIDATION_ERROR")
        size = min(int(query.get("limit", 10)), self.page_cap)
        page = found[start:start + size]
        answer: dict[str, Any] = {"total": len(found), "results": [
            {"id": r["id"], "createdAt": r["createdAt"], "updatedAt": r.get("updatedAt"), "archived": False,
             "properties": {k: r["properties"].get(k) for k in query.get("properties", [])}
             | {"hs_object_id": r["id"], name: r["properties"][name]}} for r in page]}
        if start + size < len(found):
            answer["paging"] = {"next": {"after": str(start + size), "link": "?after=" + str(start + size)}}
        return web.json_response(answer)

    async def account(self, request: web.Request) -> web.Response:
        """"Account information API": GET /account-info/v3/details."""
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        return web.json_response({"portalId": PORTAL, "accountType": "STANDARD", "timeZone": "Europe/Lisbon",
                                  "companyCurrency": "USD", "additionalCurrencies": ["EUR"],
                                  "utcOffset": "+00:00", "utcOffsetMilliseconds": 0, "uiDomain": "app.hubspot.com",
                                  "dataHostingLocation": "eu1"})

    async def pipelines(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        self.pipeline_reads += 1
        return web.json_response(PIPELINES)

    def __enter__(self) -> FakeHubspot:
        application = web.Application()
        application.router.add_get("/crm/v3/pipelines/deals", self.pipelines)
        application.router.add_get("/crm/v3/objects/{path}/{id}", self.read)
        application.router.add_post("/crm/v3/objects/{path}/search", self.search)
        application.router.add_get("/account-info/v3/details", self.account)
        self.loop = asyncio.new_event_loop()
        runner = web.AppRunner(application)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self.runner = runner
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def deal(deal_id: str, stage: str = "appointmentscheduled", *, company: str = "701", amount: str = "1200",
         history: list[tuple[str, str]] | None = None, pipeline: str = "default") -> dict[str, Any]:
    """A deal as a v3 export or GET /crm/v3/objects/deals/{id} holds it."""
    return {"id": deal_id, "createdAt": "2026-03-01T09:00:00.000Z", "updatedAt": "2026-03-02T09:00:00.000Z",
            "archived": False,
            "properties": {"hs_object_id": deal_id, "dealname": f"Deal {deal_id}", "dealstage": stage,
                           "pipeline": pipeline, "amount": amount, "deal_currency_code": "EUR", "dealtype": None,
                           "createdate": "2026-03-01T09:00:00.000Z", "closedate": "2026-03-20T12:00:00.000Z",
                           "hs_lastmodifieddate": "2026-03-02T09:00:00.000Z"},
            "propertiesWithHistory": {"dealstage": [{"value": value, "timestamp": at, "sourceType": "CRM_UI"}
                                                    for value, at in history or
                                                    [(stage, "2026-03-01T09:00:00.000Z")]]},
            "associations": {"companies": {"results": [{"id": company, "type": "deal_to_company"}]}}}


def contact(contact_id: str, email: str, *, company: str = "701", status: str | None = None) -> dict[str, Any]:
    return {"id": contact_id, "createdAt": "2026-02-20T10:00:00.000Z", "updatedAt": "2026-03-03T10:00:00.000Z",
            "archived": False,
            "properties": {"hs_object_id": contact_id, "email": email, "firstname": "Ana", "lastname": "Silva",
                           "jobtitle": "VP Sales", "hs_lead_status": status, "createdate": "2026-02-20T10:00:00.000Z",
                           "lastmodifieddate": "2026-03-03T10:00:00.000Z"},
            "associations": {"companies": {"results": [{"id": company, "type": "contact_to_company"}]}}}


def company(company_id: str, domain: str) -> dict[str, Any]:
    return {"id": company_id, "createdAt": "2026-02-01T10:00:00.000Z", "updatedAt": "2026-02-01T10:00:00.000Z",
            "archived": False,
            "properties": {"hs_object_id": company_id, "name": domain.split(".")[0].title(), "domain": domain,
                           "website": None, "createdate": "2026-02-01T10:00:00.000Z",
                           "hs_lastmodifieddate": "2026-02-01T10:00:00.000Z"}}


def engagement(path: str, engagement_id: str, at: str, *, contact: str | None = "201", company: str | None = "701",
               **properties: Any) -> dict[str, Any]:
    """A call, meeting or e-mail as GET /crm/v3/objects/{calls|meetings|emails}/{id} holds it."""
    singular = {"calls": "call", "meetings": "meeting", "emails": "email"}[path]
    associations = {kind: {"results": [{"id": found, "type": f"{singular}_to_{other}"}]}
                    for kind, other, found in (("contacts", "contact", contact), ("companies", "company", company))
                    if found}
    return {"id": engagement_id, "createdAt": at, "updatedAt": at, "archived": False,
            "properties": {"hs_object_id": engagement_id, "hs_timestamp": at, "hs_createdate": at,
                           "hs_lastmodifieddate": at, **properties},
            "associations": associations}


def event(event_id: int, kind: str, object_id: int, *, attempt: int = 0, **fields: Any) -> dict[str, Any]:
    """One webhook event ("Webhooks API": the fields HubSpot sends)."""
    return {"eventId": event_id, "subscriptionId": 1234, "portalId": PORTAL, "appId": 4321,
            "occurredAt": 1772445600000 + event_id, "subscriptionType": kind, "attemptNumber": attempt,
            "objectId": object_id, "changeSource": "CRM", **fields}


def signed_headers(url: str, body: bytes, *, secret: str = SECRET, at_ms: int | None = None) -> dict[str, str]:
    """The headers HubSpot sends with a v3-signed POST of ``body`` to ``url``."""
    timestamp = str(at_ms if at_ms is not None else int(time.time() * 1000))
    return {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": signature_v3(secret, "POST", url, body, timestamp)}


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps(list(events)).encode()
