"""A local Salesforce-shaped org: the REST API endpoints ``touchline sync salesforce`` calls, over real HTTP.

Shapes from Salesforce's docs (our own fixture, not their code):
- REST API Developer Guide, "Execute a SOQL Query" and "Query More Results"
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm): ``GET
  /services/data/vXX.X/query?q=SOQL`` answers ``{totalSize, done, nextRecordsUrl, records}``, each record with
  ``attributes {type, url}`` and relationship fields nested; ``nextRecordsUrl`` is
  ``/services/data/vXX.X/query/<locator>-<offset>``.
- REST API Developer Guide, "Status Codes and Error Responses": errors are a JSON array of
  ``{message, errorCode}``; 401 ``INVALID_SESSION_ID``, 403 ``REQUEST_LIMIT_EXCEEDED``.
- "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration": ``POST /services/oauth2/token`` with
  ``grant_type=client_credentials``, ``client_id``, ``client_secret`` answers ``{access_token, instance_url, id,
  token_type, issued_at, signature}``.
- "Get Field and Other Metadata for an Object" (``/sobjects/<Object>/describe``): ``{name, fields: [{name}]}``.

The SOQL understood is what the sync sends: a select list, ``FROM``, the cursor condition, ``ORDER BY``, and
the ``MIN(CreatedDate) ... GROUP BY OpportunityId`` aggregate.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from schemas.crm import Export
from streams.runtime.broker import free_port
from streams.runtime.kafka_python_clients import make_consumer
from streams.services.crm_import import numbered, read_rows

_WHEN = r"(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2}))"
_AFTER = re.compile(rf"\((\w+) > {_WHEN} OR \(\1 = \2 AND Id > '(\w+)'\)\)")


def stamp(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text).astimezone(UTC)


class SalesforceOrg:
    """``records``: object name → records as the API answers them (without ``attributes``)."""

    def __init__(self, org_id: str, records: dict[str, list[dict[str, Any]]], *, page_size: int = 2,
                 client_id: str = "connected-app", client_secret: str = "s3cret", token: str = "token-0",
                 latency: float = 0.0) -> None:
        self.org_id, self.records, self.page_size = org_id, records, page_size
        self.client_id, self.client_secret = client_id, client_secret
        self.valid_tokens = {token}
        self.limit_exceeded = 0  # answer this many next API calls with REQUEST_LIMIT_EXCEEDED
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.pages_served = 0
        self.page_served = threading.Condition()
        self.soql: list[str] = []
        self.url = ""
        self.latency = latency  # seconds each query page takes to answer (a real org's take 100s of ms)

    # -- the org's data -------------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def _record(self, name: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        kept = {f.split(".")[0] for f in fields}
        return {"attributes": {"type": name, "url": f"/services/data/v60.0/sobjects/{name}/{record['Id']}"},
                **{k: v for k, v in record.items() if k in kept}}

    def _run(self, soql: str) -> list[dict[str, Any]]:
        if soql == "SELECT Id FROM Organization":
            return [{"attributes": {"type": "Organization"}, "Id": self.org_id}]
        if found := re.match(r"SELECT OpportunityId, MIN\(CreatedDate\) FROM OpportunityHistory WHERE OpportunityId "
                             r"IN \(([^)]*)\) GROUP BY OpportunityId$", soql):
            ids = set(re.findall(r"'(\w+)'", found.group(1)))
            earliest: dict[str, str] = {}
            for row in self.records.get("OpportunityHistory", []):
                if row["OpportunityId"] in ids:
                    known = earliest.get(row["OpportunityId"])
                    if known is None or stamp(row["CreatedDate"]) < stamp(known):
                        earliest[row["OpportunityId"]] = row["CreatedDate"]
            return [{"attributes": {"type": "AggregateResult"}, "OpportunityId": k, "expr0": v}
                    for k, v in sorted(earliest.items())]
        found = re.match(r"SELECT (.+) FROM (\w+)(?: WHERE (.+))? ORDER BY (\w+) ASC, Id ASC$", soql)
        if not found:
            raise ValueError(f"unsupported SOQL: {soql}")
        fields, name, where, field = found.group(1).split(", "), found.group(2), found.group(3), found.group(4)
        rows = sorted(self.records.get(name, []), key=lambda r: (stamp(r[field]), r["Id"]))
        if where and (after := _AFTER.fullmatch(where)):
            at, last = stamp(after.group(2)), after.group(3)
            rows = [r for r in rows if (stamp(r[field]), r["Id"]) > (at, last)]
        elif where and (since := re.fullmatch(rf"{field} >= {_WHEN}", where)):
            rows = [r for r in rows if stamp(r[field]) >= stamp(since.group(1))]
        elif where:
            raise ValueError(f"unsupported condition: {where}")
        return [self._record(name, r, fields) for r in rows]

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _refusal(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return web.json_response([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                                     status=401)
        if self.limit_exceeded:
            self.limit_exceeded -= 1
            return web.json_response([{"message": "TotalRequests Limit exceeded.",
                                       "errorCode": "REQUEST_LIMIT_EXCEEDED"}], status=403)
        return None

    async def _page(self, version: str, locator: str, offset: int) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        rows = self.results[locator]
        end = offset + self.page_size
        answer: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[offset:end]}
        if end < len(rows):
            answer["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        with self.page_served:
            self.pages_served += 1
            self.page_served.notify_all()
        return web.json_response(answer)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret):
            return web.json_response({"error": "invalid_client", "error_description": "invalid client credentials"},
                                     status=400)
        token = f"token-{uuid.uuid4().hex}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "instance_url": self.url, "token_type": "Bearer",
                                  "id": f"{self.url}/id/{self.org_id}/005000000000001AAA",
                                  "issued_at": "1767225600000", "signature": "not-checked"})

    async def query(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        soql = request.query["q"]
        self.soql.append(soql)
        try:
            rows = self._run(soql)
        except ValueError as exc:
            return web.json_response([{"message": str(exc), "errorCode": "MALFORMED_QUERY"}], status=400)
        locator = f"01g{uuid.uuid4().hex[:15]}"
        self.results[locator] = rows
        return await self._page(request.match_info["version"], locator, 0)

    async def more(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        locator, _, offset = request.match_info["cursor"].rpartition("-")
        return await self._page(request.match_info["version"], locator, int(offset))

    async def describe(self, request: web.Request) -> web.Response:
        if refused := self._refusal(request):
            return refused
        name = request.match_info["name"]
        names = {k for r in self.records.get(name, []) for k, v in r.items() if not isinstance(v, dict)}
        names |= {"Id", "SystemModstamp", "CreatedDate"} | {f"{k}Id" for r in self.records.get(name, [])
                                                           for k, v in r.items() if isinstance(v, dict)}
        return web.json_response({"name": name, "fields": [{"name": n} for n in sorted(names)]})

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/services/oauth2/token", self.token)
        application.router.add_get("/services/data/{version}/query", self.query)
        application.router.add_get("/services/data/{version}/query/{cursor}", self.more)
        application.router.add_get("/services/data/{version}/sobjects/{name}/describe", self.describe)
        return application

    def wait_for_pages(self, count: int, timeout: float = 30.0) -> bool:
        with self.page_served:
            return self.page_served.wait_for(lambda: self.pages_served >= count, timeout)


class AppThread:
    """Serves an aiohttp application on 127.0.0.1 from a thread of its own until closed."""

    def __init__(self, application: web.Application) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(application, started), daemon=True)
        self.thread.start()
        started.wait(30)

    def _serve(self, application: web.Application, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(application)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Serving(AppThread):
    """Serves an org (its ``url`` set to where it is served)."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org
        super().__init__(org.app())
        org.url = self.url


def sample_records(org: str, more: int = 0) -> dict[str, list[dict[str, Any]]]:
    """One org's records of each object the sync reads, as the API answers them; ``more`` adds that many further
    opportunities, contacts and calls. The Task ``00T000000000009`` has no date: it cannot become a touch."""
    def at(day: int, hour: int = 9) -> str:
        return f"2026-01-{day:02d}T{hour:02d}:00:00.000+0000"

    records: dict[str, list[dict[str, Any]]] = {
        "Opportunity": [
            {"Id": "006000000000001", "AccountId": "001000000000001", "StageName": "Closed Won", "Amount": 48000.0,
             "CurrencyIsoCode": "EUR", "CloseDate": "2026-01-20", "IsClosed": True, "IsWon": True,
             "Type": "New Business", "LeadSource": "Webinar", "CreatedDate": at(2), "SystemModstamp": at(20)},
            {"Id": "006000000000002", "AccountId": "001000000000002", "StageName": "Prospecting", "Amount": None,
             "CurrencyIsoCode": "EUR", "CloseDate": "2026-03-01", "IsClosed": False, "IsWon": False,
             "Type": "New Business", "LeadSource": "Web", "CreatedDate": at(3), "SystemModstamp": at(3)},
            {"Id": "006000000000003", "AccountId": "001000000000001", "StageName": "Closed Lost", "Amount": 9000.5,
             "CurrencyIsoCode": "EUR", "CloseDate": "2026-01-25", "IsClosed": True, "IsWon": False,
             "Type": "Existing Business", "LeadSource": None, "CreatedDate": at(4), "SystemModstamp": at(25)},
        ],
        "OpportunityHistory": [  # the first opportunity's versions fall on different pages
            {"Id": "008000000000001", "OpportunityId": "006000000000001", "StageName": "Prospecting",
             "Amount": 40000.0, "CurrencyIsoCode": "EUR", "CloseDate": "2026-02-01", "CreatedDate": at(2),
             "Opportunity": {"AccountId": "001000000000001", "Type": "New Business", "LeadSource": "Webinar"}},
            {"Id": "008000000000002", "OpportunityId": "006000000000003", "StageName": "Prospecting",
             "Amount": 9000.5, "CurrencyIsoCode": "EUR", "CloseDate": "2026-02-01", "CreatedDate": at(4),
             "Opportunity": {"AccountId": "001000000000001", "Type": "Existing Business", "LeadSource": None}},
            {"Id": "008000000000003", "OpportunityId": "006000000000001", "StageName": "Negotiation",
             "Amount": 48000.0, "CurrencyIsoCode": "EUR", "CloseDate": "2026-01-20", "CreatedDate": at(10),
             "Opportunity": {"AccountId": "001000000000001", "Type": "New Business", "LeadSource": "Webinar"}},
            {"Id": "008000000000004", "OpportunityId": "006000000000001", "StageName": "Closed Won",
             "Amount": 48000.0, "CurrencyIsoCode": "EUR", "CloseDate": "2026-01-20", "CreatedDate": at(20),
             "Opportunity": {"AccountId": "001000000000001", "Type": "New Business", "LeadSource": "Webinar"}},
            {"Id": "008000000000005", "OpportunityId": "006000000000003", "StageName": "Closed Lost",
             "Amount": 9000.5, "CurrencyIsoCode": "EUR", "CloseDate": "2026-01-25", "CreatedDate": at(25),
             "Opportunity": {"AccountId": "001000000000001", "Type": "Existing Business", "LeadSource": None}},
        ],
        "OpportunityContactRole": [
            {"Id": "00K000000000001", "OpportunityId": "006000000000001", "ContactId": "003000000000001",
             "Role": "Decision Maker", "CreatedDate": at(5), "SystemModstamp": at(5),
             "Opportunity": {"AccountId": "001000000000001"}},
        ],
        "Lead": [
            {"Id": "00Q000000000001", "Email": "ana@globex.example", "Status": "Working - Contacted",
             "CreatedDate": at(1), "LastModifiedDate": at(6), "SystemModstamp": at(6)},
            {"Id": "00Q000000000002", "Email": "bo@initech.example", "Status": "Open - Not Contacted",
             "CreatedDate": at(1, 10), "LastModifiedDate": at(1, 10), "SystemModstamp": at(1, 10)},
        ],
        "LeadHistory": [
            {"Id": "017000000000001", "LeadId": "00Q000000000001", "Field": "Status",
             "OldValue": "Open - Not Contacted", "NewValue": "Working - Contacted", "CreatedDate": at(6)},
            {"Id": "017000000000002", "LeadId": "00Q000000000001", "Field": "Rating", "OldValue": None,
             "NewValue": "Hot", "CreatedDate": at(6, 11)},
        ],
        "Contact": [
            {"Id": "003000000000001", "Email": "cy@acme.example", "AccountId": "001000000000001",
             "CreatedDate": at(1), "LastModifiedDate": at(1), "SystemModstamp": at(1)},
        ],
        "CampaignMember": [
            {"Id": "00v000000000001", "CampaignId": "701000000000001", "ContactId": "003000000000001",
             "LeadId": None, "Email": "cy@acme.example", "Status": "Attended", "HasResponded": True,
             "FirstRespondedDate": "2026-01-03", "CreatedDate": at(2), "SystemModstamp": at(3),
             "Campaign": {"Type": "Webinar"}, "Contact": {"AccountId": "001000000000001"}},
            {"Id": "00v000000000002", "CampaignId": "701000000000001", "ContactId": None,
             "LeadId": "00Q000000000002", "Email": "bo@initech.example", "Status": "Sent", "HasResponded": False,
             "FirstRespondedDate": None, "CreatedDate": at(2), "SystemModstamp": at(2),
             "Campaign": {"Type": "Webinar"}, "Contact": None},
        ],
        "Task": [
            {"Id": "00T000000000001", "WhoId": "003000000000001", "AccountId": "001000000000001",
             "Subject": "Call Cy", "Type": "Call", "TaskSubtype": "Call", "CallType": "Outbound",
             "CallDurationInSeconds": 300, "ActivityDate": "2026-01-07", "CompletedDateTime": at(7, 15),
             "SystemModstamp": at(7, 15)},
            {"Id": "00T000000000002", "WhoId": "00Q000000000001", "AccountId": None, "Subject": "Intro",
             "Type": "Email", "TaskSubtype": "Email", "CallType": None, "CallDurationInSeconds": None,
             "ActivityDate": "2026-01-06", "CompletedDateTime": at(6, 16), "SystemModstamp": at(6, 16)},
            {"Id": "00T000000000009", "WhoId": "003000000000001", "AccountId": "001000000000001",
             "Subject": "Call back", "Type": "Call", "TaskSubtype": "Call", "CallType": None,
             "CallDurationInSeconds": None, "ActivityDate": None, "CompletedDateTime": None,
             "SystemModstamp": at(8)},
        ],
        "Event": [
            {"Id": "00U000000000001", "WhoId": "003000000000001", "AccountId": "001000000000001",
             "Subject": "Platform demo", "Type": "Meeting", "EventSubtype": "Event", "ActivityDate": "2026-01-09",
             "StartDateTime": at(9, 14), "IsAllDayEvent": False, "SystemModstamp": at(9)},
        ],
    }
    for n in range(more):
        day = 1 + n % 27
        records["Opportunity"].append({
            "Id": f"0060000000{n:05d}X", "AccountId": f"0010000000{n:05d}X", "StageName": "Qualification",
            "Amount": 1000.0 + n, "CurrencyIsoCode": None, "CloseDate": "2026-04-01", "IsClosed": False,
            "IsWon": False, "Type": None, "LeadSource": "Web", "CreatedDate": at(day), "SystemModstamp": at(day)})
        records["Contact"].append({
            "Id": f"0030000000{n:05d}X", "Email": f"p{n}@firm{n}.example", "AccountId": f"0010000000{n:05d}X",
            "CreatedDate": at(day), "LastModifiedDate": at(day), "SystemModstamp": at(day, 12)})
        records["Task"].append({
            "Id": f"00T0000000{n:05d}X", "WhoId": f"0030000000{n:05d}X", "AccountId": f"0010000000{n:05d}X",
            "Subject": "Call", "Type": "Call", "TaskSubtype": "Call", "CallType": "Outbound",
            "CallDurationInSeconds": 60, "ActivityDate": None, "CompletedDateTime": at(day, 13),
            "SystemModstamp": at(day, 13)})
    return records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_exports(records: dict[str, list[dict[str, Any]]], folder: Path) -> list[Path]:
    """The records as Data Loader exports them: one CSV per object, upper-case API names, relationship fields
    as ``OPPORTUNITY.ACCOUNTID`` columns, booleans ``true``/``false``, nulls empty."""
    paths = []
    for name, rows in records.items():
        relationships = {k for row in rows for k, v in row.items() if isinstance(v, dict)}
        flat = []
        for row in rows:
            cells: dict[str, str] = {}
            for key, value in row.items():
                if isinstance(value, dict):
                    cells |= {f"{key}.{sub}".upper(): _cell(x) for sub, x in value.items()}
                elif key not in relationships:
                    cells[key.upper()] = _cell(value)
            flat.append(cells)
        columns = sorted({c for row in flat for c in row})
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, restval="")
            writer.writeheader()
            writer.writerows(flat)
        paths.append(path)
    return paths


def read_topic(bootstrap, topic, source, enough, timeout=30.0):
    """(key, value) of the records of ``topic`` from ``source`` (its value's source, or its key's start), read
    until ``enough(records)`` holds and then to the end of what the topic has."""
    consumer = make_consumer(bootstrap, topic, group_id=None)
    found = []
    deadline = time.monotonic() + timeout
    satisfied = False
    while time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=500)
        if satisfied and not polled:
            break
        for records in polled.values():
            for record in records:
                value = json.loads(record.value)
                if value.get("source") == source or (record.key or b"").decode().startswith(source):
                    found.append((record.key, value))
        satisfied = satisfied or enough(found)
    consumer.close()
    return found


def expected_keys(records, tmp_path, source):
    """The touch keys the import makes of these records (in-process, as `touchline import` reads its files): the
    keys a sync of them lands, OpportunityHistory's deal creations and closes being the Opportunity's."""
    keys = set()
    for path in write_exports(records, tmp_path):
        for _, result in numbered("salesforce", read_rows(path), Export(source, "USD"), 2):
            if hasattr(result, "event_id"):
                keys.add(f"{result.source}|{result.event_id}")
    return keys
