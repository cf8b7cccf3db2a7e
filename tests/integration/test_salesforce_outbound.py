"""`POST /salesforce/outbound` on the collector, over real HTTP, producing to the embedded broker."""

import random
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from schemas.crm import Export
from schemas.event_map import EventMap
from schemas.salesforce_records import OBJECTS_BY_NAME, convert_records
from streams import topics
from streams.collector.app import CollectorSettings, collector_application
from streams.collector.salesforce_outbound import OutboundSettings
from streams.settings import Settings
from tests.integration.pipeline import topic_end
from tests.integration.salesforce_org import AppThread, read_topic, sample_records

pytestmark = pytest.mark.integration

ORG = "00D000000000004AAA"
SOURCE = f"salesforce:{ORG}"
# Our fixture of the outbound messaging WSDL's notifications call ("Setting Up Outbound Messaging")
MESSAGE = (Path(__file__).parent.parent / "data" / "salesforce" / "outbound_opportunity_and_task.xml").read_bytes()


def collector(bootstrap, org_id):
    settings = CollectorSettings("127.0.0.1", 0, {}, {}, EventMap.load(None), 200_000, 5.0, None,
                                 salesforce=OutboundSettings(org_id, None))
    return AppThread(collector_application(bootstrap, Settings(), settings))


def post(url, body):
    request = urllib.request.Request(url + "/salesforce/outbound", data=body, method="POST",
                                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_an_outbound_message_lands_as_the_sync_would_and_is_acknowledged_after(kafka_bootstrap):
    served = collector(kafka_bootstrap, ORG)
    try:
        foreign = MESSAGE.replace(ORG.encode(), b"00D000000000009AAA").replace(b"006000000000001", b"006000000000099")
        before = topic_end(kafka_bootstrap, topics.TOUCHES_RAW), topic_end(kafka_bootstrap, topics.TOUCHES_DLQ)
        refused = post(served.url, foreign)
        malformed = post(served.url, MESSAGE[:200])
        after_refused = topic_end(kafka_bootstrap, topics.TOUCHES_RAW), topic_end(kafka_bootstrap, topics.TOUCHES_DLQ)
        taken = post(served.url, MESSAGE)
        again = post(served.url, MESSAGE)  # Salesforce retries until it has its Ack
    finally:
        served.close()
    assert refused[0] == 403 and "OrganizationId '00D000000000009AAA' is not this collector's org" in refused[1]
    assert malformed[0] == 400 and "not a Salesforce Outbound Message: not well-formed XML" in malformed[1]
    assert after_refused == before  # nothing of the 403 and the 400, on any source
    assert taken == again
    assert taken[0] == 200 and "<notificationsResponse" in taken[1] and "<Ack>true</Ack>" in taken[1]
    landed = read_topic(kafka_bootstrap, topics.TOUCHES_RAW, SOURCE, lambda found: len(found) >= 6)
    # what the sync makes of the same two records, as the REST API answers them
    records = sample_records(ORG)
    synced = [t for name, record in (("Opportunity", records["Opportunity"][0]), ("Task", records["Task"][0]))
              for _, t in convert_records(OBJECTS_BY_NAME[name], [record], Export(SOURCE))]
    assert len(landed) == 6  # twice the message's three touches, on the same three keys
    assert {key.decode(): touch for key, touch in landed} == {f"{SOURCE}|{t.event_id}": t.to_wire() for t in synced}


def test_bad_bodies_get_a_clear_4xx_and_produce_nothing(kafka_bootstrap):
    foreign = MESSAGE.replace(ORG.encode(), b"00D000000000009AAA")
    declared = MESSAGE.split(b"?>", 1)[1]
    bodies = [b'<?xml version="1.0" encoding="bogus"?>' + declared, b'<?xml version="1.0" encoding="shift_jis"?>'
              + declared, b'<?xml version="1.0" encoding="utf-16"?>' + declared, b"\xff\xfe<", b"", b"<a>\x00</a>"]
    rng = random.Random(26)
    for _ in range(60):  # random damage to another org's message: a 400 or the 403, never a 5xx
        damaged = bytearray(foreign)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        bodies.append(bytes(damaged))
    served = collector(kafka_bootstrap, ORG)
    try:
        before = topic_end(kafka_bootstrap, topics.TOUCHES_RAW), topic_end(kafka_bootstrap, topics.TOUCHES_DLQ)
        answers = [post(served.url, body) for body in bodies]
        after = topic_end(kafka_bootstrap, topics.TOUCHES_RAW), topic_end(kafka_bootstrap, topics.TOUCHES_DLQ)
    finally:
        served.close()
    assert [status for status, _ in answers[:6]] == [400] * 6
    assert all(status in (400, 403) and "<faultstring>" in answer for status, answer in answers), answers
    assert after == before


def test_the_route_is_absent_until_an_org_is_configured(kafka_bootstrap):
    served = collector(kafka_bootstrap, None)
    try:
        status, body = post(served.url, MESSAGE)
    finally:
        served.close()
    assert status == 404 and "set TOUCHLINE_SALESFORCE_ORG_ID" in body
