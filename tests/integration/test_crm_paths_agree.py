"""The same CRM records reaching Touchline three ways (an export file through `touchline import`, a sync against
a local CRM API, and pushed: HubSpot webhooks / a Salesforce Outbound Message) land through the stream (a worker
on the embedded broker) as one row per (source, event_id) in `touches`, and the stream's journey rows are what
the batch engine (`touchline stitch`'s transforms.stitching.stitch) makes of the same touches.

The records span a month and arrive in no particular order, so the stream's allowed lateness is set to cover
them: a touch older than that takes the late path (`touchline replay`), which is not what these tests are about.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from sinks.lake import Lake
from streams import topics
from streams.cli import main
from streams.collector.app import CollectorSettings, collector_application
from streams.runtime.worker import Worker
from streams.settings import Settings
from tests.hubspot_server import PORTAL, SECRET, TOKEN, FakeHubspot, event
from tests.integration.pipeline import COMPARED, lake_rows, wait_for_lake
from tests.integration.salesforce_org import (
    AppThread,
    SalesforceOrg,
    Serving,
    read_topic,
    sample_records,
    write_exports,
)
from tests.integration.test_hubspot_sync import records
from tests.integration.test_hubspot_webhooks import collector, deliver
from transforms.settings import JourneySettings
from transforms.stitching import stitch
from transforms.types import Touch

pytestmark = pytest.mark.integration

#: time enough for every record of these fixtures to be placed by the stream, however they arrive
IN_TIME = JourneySettings(allowed_lateness_hours=90 * 24)
#: "Webhooks API": the subscription a record of each type is created under (engagements: generic subscriptions)
CREATIONS = {"companies": ("company.creation", {}), "contacts": ("contact.creation", {}),
             "deals": ("deal.creation", {}), "calls": ("object.creation", {"objectTypeId": "0-48"}),
             "meetings": ("object.creation", {"objectTypeId": "0-47"}),
             "emails": ("object.creation", {"objectTypeId": "0-49"})}


def lake_touch_keys(root: str) -> list[tuple[str, str]]:
    lake = Lake(root)
    return lake.connect().execute("select source, event_id from read_parquet(?)", [lake.files("touches")]).fetchall()


def produced_per_key(bootstrap: str, source: str, records: int) -> Counter[tuple[str, str]]:
    """How often each (source, event_id) of ``source`` was produced to touches-raw-v1 (by every path together;
    the import produces without a Kafka key)."""
    found = read_topic(bootstrap, topics.TOUCHES_RAW, source, lambda found: len(found) >= records)
    return Counter((value["source"], value["event_id"]) for _, value in found)


def batch_rows(touches: list[dict]) -> set[tuple[object, ...]]:
    return {tuple(row.to_row()[c] for c in COMPARED) for row in stitch([Touch.from_wire(t) for t in touches]).rows}


def test_hubspot_records_by_export_sync_and_webhook_land_once_and_stitch_as_the_batch_does(fresh_broker, tmp_path):
    crm = records()
    export = tmp_path / "export.json"  # a v3 export: the records as the v3 API lists them
    export.write_text(json.dumps({"results": [r for found in crm.values() for r in found]}))
    out = tmp_path / "imported.jsonl"
    env = {"TOUCHLINE_CRM_CURRENCY": "EUR", "TOUCHLINE_KAFKA_BOOTSTRAP": fresh_broker.bootstrap,
           "TOUCHLINE_LAKE": str(tmp_path / "lake"), "TOUCHLINE_HUBSPOT_TOKEN": TOKEN}
    source = ["--source", f"hubspot:{PORTAL}"]
    as_file = CliRunner().invoke(main, ["import", "hubspot", str(export), *source, "--out", str(out)], env=env)
    assert as_file.exit_code == 0, as_file.output
    touches = [json.loads(line) for line in out.read_text().splitlines()]
    expected_keys = sorted({(t["source"], t["event_id"]) for t in touches})
    assert len(expected_keys) == len(touches) > 20

    with FakeHubspot() as hubspot:
        for path, found in crm.items():
            for record in found:
                hubspot.add(path, record)
        env["TOUCHLINE_HUBSPOT_API_URL"] = hubspot.url
        settings = Settings(kafka_bootstrap=fresh_broker.bootstrap, lake=tmp_path / "lake",
                            catalog=tmp_path / "touchline.duckdb", hubspot_client_secret=SECRET,
                            hubspot_token=TOKEN, hubspot_api_url=hubspot.url, crm_currency="EUR",
                            state_commit_seconds=0.5)
        worker = Worker(fresh_broker.bootstrap, settings, IN_TIME, processes=False).start()
        try:
            imported = CliRunner().invoke(main, ["import", "hubspot", str(export), *source], env=env)
            assert imported.exit_code == 0, imported.output
            with collector(fresh_broker.bootstrap, settings) as base:
                webhooks = [event(n, kind, int(record["id"]), **fields) for n, (path, record, (kind, fields))
                            in enumerate((path, r, CREATIONS[path]) for path, found in crm.items() for r in found)]
                assert deliver(base, *webhooks) == (200, {"accepted": len(webhooks)})
            synced = CliRunner().invoke(main, ["sync", "hubspot"], env=env)
            assert synced.exit_code == 0, synced.output
            counts = wait_for_lake(settings.lake, len(expected_keys), 0, len(batch_rows(touches)), timeout=90)
        finally:
            worker.close()
    assert (counts["dead_letters"], counts["late_touches"]) == (0, 0)
    # every path produced every touch (so the lake's one row per key is the pipeline's doing)
    assert set(produced_per_key(fresh_broker.bootstrap, f"hubspot:{PORTAL}", 3 * len(touches)).values()) == {3}
    assert sorted(lake_touch_keys(settings.lake)) == expected_keys  # one row per key, whichever way it came
    assert {path for path, _, _ in hubspot.reads} == set(CREATIONS)  # the webhooks were read, not just received
    assert lake_rows(settings.lake) == batch_rows(touches) != set()


ORG = "00D000000000004AAA"  # the org tests/data/salesforce/outbound_opportunity_and_task.xml comes from
# Our fixture of the outbound messaging WSDL's notifications call ("Setting Up Outbound Messaging"): an
# Opportunity and a Task of sample_records(ORG)
MESSAGE = (Path(__file__).parent.parent / "data" / "salesforce" / "outbound_opportunity_and_task.xml").read_bytes()


def outbound(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url + "/salesforce/outbound", data=body, method="POST",
                                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_salesforce_records_by_export_sync_and_outbound_message_land_once_and_stitch_as_the_batch_does(
        fresh_broker, tmp_path):
    source = f"salesforce:{ORG}"
    crm = sample_records(ORG)
    exports = write_exports(crm, tmp_path)  # as Data Loader exports them
    out = tmp_path / "imported.jsonl"
    env = {"TOUCHLINE_CRM_CURRENCY": "USD", "TOUCHLINE_KAFKA_BOOTSTRAP": fresh_broker.bootstrap,
           "TOUCHLINE_LAKE": str(tmp_path / "lake"), "TOUCHLINE_SALESFORCE_ACCESS_TOKEN": "token-0"}
    arguments = ["import", "salesforce", *map(str, exports), "--source", source, "--partial"]
    as_file = CliRunner().invoke(main, [*arguments, "--out", str(out)], env=env)
    assert as_file.exit_code == 0, as_file.output
    touches = [json.loads(line) for line in out.read_text().splitlines()]
    expected_keys = sorted({(t["source"], t["event_id"]) for t in touches})
    assert len(expected_keys) == 14 and len(touches) == 19  # some facts are told by two exports (History's too)

    settings = Settings(kafka_bootstrap=fresh_broker.bootstrap, lake=tmp_path / "lake",
                        catalog=tmp_path / "touchline.duckdb", salesforce_org_id=ORG, state_commit_seconds=0.5)
    serving = Serving(SalesforceOrg(ORG, crm, page_size=2))
    served = AppThread(collector_application(fresh_broker.bootstrap, settings, CollectorSettings.read(settings)))
    worker = Worker(fresh_broker.bootstrap, settings, IN_TIME, processes=False).start()
    try:
        imported = CliRunner().invoke(main, arguments, env=env)
        assert imported.exit_code == 0, imported.output
        status, answer = outbound(served.url, MESSAGE)
        assert status == 200 and "<Ack>true</Ack>" in answer
        synced = CliRunner().invoke(main, ["sync", "salesforce", "--instance-url", serving.url], env=env)
        assert synced.exit_code == 0, synced.output
        counts = wait_for_lake(settings.lake, len(expected_keys), 2, len(batch_rows(touches)), timeout=90)
    finally:
        worker.close()
        served.close()
        serving.close()
    assert counts["late_touches"] == 0
    assert sorted(lake_touch_keys(settings.lake)) == expected_keys  # one row per key, whichever way it came
    # the import (19 touches) and the sync (15, as test_salesforce_sync counts them) produced every key, the
    # message its three (an Opportunity's creation and close, a Task's call) once more
    produced = produced_per_key(fresh_broker.bootstrap, source, len(touches) + 15 + 3)
    by_message = {(source, e) for e in ("006000000000001:created", "006000000000001:closed", "00T000000000001")}
    assert sorted(produced) == expected_keys and sum(produced.values()) == len(touches) + 15 + 3
    assert min(produced.values()) >= 2 and min(produced[key] for key in by_message) >= 3
    assert lake_rows(settings.lake) == batch_rows(touches) != set()
