"""``touchline push`` against local servers speaking Salesforce's sObject Collections and HubSpot's batch APIs:
a rerun changes nothing; after the lake's credit moves, the CRM holds exactly the new credit.

Shapes: Salesforce REST API, "sObject Collections" (Upsert: PATCH /services/data/vXX.X/composite/sobjects/
{Object}/{ExternalIdField}, body ``{allOrNone, records}`` with ``attributes.type``, up to 200, answered by one
``{id, success, errors, created}`` per record; Delete: DELETE /composite/sobjects?ids=...&allOrNone=false);
HubSpot CRM v3, "Deals" (POST /crm/v3/objects/deals/batch/update, ``{inputs: [{id, properties}]}``, up to 100)
and "Properties" (GET /crm/v3/properties/deals, POST /crm/v3/properties/deals/batch/create).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import zlib
from collections.abc import Callable

from aiohttp import web
from click.testing import CliRunner

from sinks.attribution import open_lake
from sinks.crm_push import opportunity_credits
from sinks.lake import Lake
from streams.cli import main
from streams.services.stitch import write_lake
from tests.stages.receivers import Receiver, wait_for
from transforms.crm_push import SALESFORCE_KEY, salesforce_records
from transforms.generator import GeneratorSettings, generate
from transforms.stitching import stitch
from transforms.types import Touch


class Salesforce:
    """An org holding Touchline_Touch_Credit__c records by external id."""

    def __init__(self, **receiver) -> None:
        self.records: dict[str, dict] = {}  # external id -> fields
        self.ids = (f"a0B{n:015d}" for n in itertools.count())
        self.by_id: dict[str, str] = {}
        self.limited = 0  # calls still to answer 403 REQUEST_LIMIT_EXCEEDED
        self.server = Receiver(answer=self.answer, **receiver)

    def answer(self, request: web.Request, body: bytes):
        if self.limited:  # REST API Developer Guide, "Status Codes and Error Responses": 403 REQUEST_LIMIT_EXCEEDED
            self.limited -= 1
            return web.json_response([{"message": "TotalRequests Limit exceeded.",
                                       "errorCode": "REQUEST_LIMIT_EXCEEDED"}], status=403)
        if request.method == "PATCH":
            payload = json.loads(body)
            assert len(payload["records"]) <= 200
            assert request.path.endswith("/composite/sobjects/Touchline_Touch_Credit__c/Touchline_Key__c")
            results = []
            for record in payload["records"]:
                assert record["attributes"] == {"type": "Touchline_Touch_Credit__c"}
                key = record["Touchline_Key__c"]
                created = key not in self.records
                if created:
                    self.by_id[next(self.ids)] = key
                self.records[key] = {k: v for k, v in record.items() if k != "attributes"}
                record_id = next(i for i, k in self.by_id.items() if k == key)
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            return results
        ids = request.query["ids"].split(",")
        assert len(ids) <= 200 and request.query["allOrNone"] == "false"
        for record_id in ids:
            del self.records[self.by_id.pop(record_id)]
        return [{"id": i, "success": True, "errors": []} for i in ids]


class HubSpot:
    def __init__(self, unknown: frozenset[str] = frozenset()) -> None:
        self.properties: set[str] = {"dealname"}
        self.deals: dict[str, dict[str, str]] = {}
        self.unknown = set(unknown)  # deal ids the portal does not have
        self.server = Receiver(answer=self.answer)

    def answer(self, request: web.Request, body: bytes):
        if request.method == "GET":
            return {"results": [{"name": name} for name in sorted(self.properties)]}
        payload = json.loads(body)
        if request.path.endswith("/properties/deals/batch/create"):
            self.properties |= {p["name"] for p in payload["inputs"]}
            return {"status": "COMPLETE", "results": payload["inputs"]}
        assert request.path == "/crm/v3/objects/deals/batch/update" and len(payload["inputs"]) <= 100
        known = [u for u in payload["inputs"] if u["id"] not in self.unknown]
        for update in known:
            assert set(update["properties"]) <= self.properties  # a property must exist before it is written
            self.deals.setdefault(update["id"], {}).update(update["properties"])
        answer = {"status": "COMPLETE", "results": [{"id": u["id"], "properties": u["properties"]} for u in known]}
        missing = [u["id"] for u in payload["inputs"] if u["id"] in self.unknown]
        if not missing:
            return answer
        # some inputs failed: 207 Multi-Status, the failed ids in each error's context (CRM v3 "Deals",
        # batch/update: BatchResponseSimplePublicObjectWithErrors)
        return web.json_response({**answer, "numErrors": 1, "errors": [{
            "status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some DEAL objects",
            "context": {"ids": missing}}]}, status=207)


SOURCES = {"salesforce": "salesforce:00D000000000001", "hubspot": "hubspot:4242"}


def only(crm: str) -> Callable[[str], str]:
    return lambda _opportunity: crm


def halves(opportunity_id: str) -> str:
    return ("salesforce", "hubspot")[zlib.crc32(opportunity_id.encode()) % 2]


def build_lake(root, seed: int, crm_of: Callable[[str], str] | None = None) -> None:
    """A stitched lake of generated accounts whose deals' events come from the CRM ``crm_of`` names."""
    emitted = generate(GeneratorSettings(accounts=60, days=300, seed=seed, free_mail_rate=0.0))
    touches = [Touch.from_wire(e.record) for e in emitted if e.record is not None and not e.malformed]
    crm_of = crm_of or only("salesforce")
    touches = [t._replace(source=SOURCES[crm_of(t.opportunity_id)]) if t.opportunity_id else t for t in touches]
    result = stitch(touches)
    write_lake(Lake(str(root)), touches, [row.to_row() for row in result.rows], result.breaches)


def push(crm: str, lake, env: dict[str, str], models: str = "w_shaped,linear") -> str:
    result = CliRunner().invoke(main, ["push", crm, "--model", models, "--lake", str(lake)], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_salesforce_push_upserts_once_reruns_change_nothing_and_vanished_credit_is_deleted(tmp_path):
    org = Salesforce()
    lake = tmp_path / "lake"
    build_lake(lake, seed=3)
    env = {"TOUCHLINE_SALESFORCE_INSTANCE_URL": org.server.url, "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "tok"}
    first = push("salesforce", lake, env)
    assert len(org.records) > 200  # more than one call's worth
    assert f"{len(org.records)} written, 0 removed" in first
    assert {r["Model__c"] for r in org.records.values()} == {"w_shaped", "linear"}
    sample = next(iter(org.records.values()))
    assert sample["Opportunity__c"] and sample["Touch_At__c"] and sample["Channel__c"]
    assert any(r["Won_Share__c"] and r["Revenue_Credit__c"] for r in org.records.values())
    requests = len(org.server.requests)
    assert "0 written, 0 removed, 0 calls" in push("salesforce", lake, env)
    assert len(org.server.requests) == requests  # a rerun sends nothing
    # credit moves: one model dropped, so its records vanish from the CRM; the other's stay as they are
    push("salesforce", lake, env, models="w_shaped")
    assert {r["Model__c"] for r in org.records.values()} == {"w_shaped"}
    shares: dict[tuple[str, str], float] = {}
    for record in org.records.values():
        for share in ("Opportunity_Share__c", "Won_Share__c"):
            if record[share] is not None:
                shares[(record["Opportunity__c"], share)] = shares.get((record["Opportunity__c"], share), 0.0) \
                    + record[share]
    assert shares and all(abs(total - 1.0) < 1e-4 for total in shares.values())  # each conversion's credit sums to 1
    org.server.close()


def test_hubspot_push_creates_its_properties_updates_deals_once_and_clears_vanished_ones(tmp_path):
    portal = HubSpot()
    lake = tmp_path / "lake"
    build_lake(lake, seed=3, crm_of=only("hubspot"))
    env = {"TOUCHLINE_HUBSPOT_API_URL": portal.server.url, "TOUCHLINE_HUBSPOT_TOKEN": "tok"}
    push("hubspot", lake, env)
    assert "touchline_w_shaped_top_channel" in portal.properties
    assert portal.deals and all(d["touchline_w_shaped_top_channel"] and int(d["touchline_touches"]) > 0
                                for d in portal.deals.values())
    requests = len(portal.server.requests)
    assert "0 written, 0 removed" in push("hubspot", lake, env)
    assert [r[0] for r in portal.server.requests[requests:]] == ["GET"]  # only the property check
    build_lake(lake, seed=4, crm_of=only("hubspot"))  # a replay: other deals
    before = set(portal.deals)
    push("hubspot", lake, env)
    gone = before - {d for d, props in portal.deals.items() if props["touchline_touches"]}
    assert gone and all(portal.deals[d]["touchline_touches"] == "" for d in gone)
    portal.server.close()


def test_each_crm_is_pushed_only_the_deals_that_came_from_it(tmp_path):
    org, portal = Salesforce(), HubSpot()
    lake = tmp_path / "lake"
    build_lake(lake, seed=3, crm_of=halves)
    push("salesforce", lake, {"TOUCHLINE_SALESFORCE_INSTANCE_URL": org.server.url,
                              "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "tok"})
    push("hubspot", lake, {"TOUCHLINE_HUBSPOT_API_URL": portal.server.url, "TOUCHLINE_HUBSPOT_TOKEN": "tok"})
    in_salesforce = {r["Opportunity__c"] for r in org.records.values()}
    assert in_salesforce and all(halves(o) == "salesforce" for o in in_salesforce)
    assert portal.deals and all(halves(deal) == "hubspot" for deal in portal.deals)
    org.server.close()
    portal.server.close()


def lake_records(lake, models: list[str]) -> dict[str, dict]:
    """What the CRM should hold for the lake as it is now: its Salesforce records, by external id."""
    connection = open_lake(str(lake))
    try:
        wanted = salesforce_records(opportunity_credits(connection, models, "salesforce"))
    finally:
        connection.close()
    return {key: {SALESFORCE_KEY: key, **fields} for key, fields in wanted.items()}


def test_push_follow_sends_new_credit_after_the_lake_changes_and_stops_cleanly_on_sigterm(tmp_path):
    org = Salesforce()
    lake = tmp_path / "lake"
    build_lake(lake, seed=3)
    env = {**os.environ, "TOUCHLINE_SALESFORCE_INSTANCE_URL": org.server.url,
           "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "tok"}
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        follower = subprocess.Popen([sys.executable, "-m", "streams", "push", "salesforce", "--model", "w_shaped",
                                     "--follow", "--every", "1", "--lake", str(lake)],
                                    env=env, stdout=stdout, stderr=stderr)
    try:
        first = lake_records(lake, ["w_shaped"])
        wait_for(lambda: org.records == first, timeout=60)
        build_lake(lake, seed=4)  # a replay moves the credit: other deals
        second = lake_records(lake, ["w_shaped"])
        assert second and set(second) != set(first)
        wait_for(lambda: org.records == second, timeout=60)  # the follower's next rounds send the change
        # then a round with nothing new
        wait_for(lambda: ", 0 calls" in (out.read_text().splitlines() or [""])[-1], timeout=30)
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=30) == 0, err.read_text()
    finally:
        if follower.poll() is None:
            follower.kill()
        org.server.close()
    rounds = out.read_text().splitlines()
    assert rounds[0].startswith(f"salesforce: {len(first)} written, 0 removed")
    assert any(" removed" in line and ", 0 removed" not in line for line in rounds[1:])
    assert "Traceback" not in err.read_text()
