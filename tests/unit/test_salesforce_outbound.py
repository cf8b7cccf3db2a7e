"""Outbound Messages read (schemas/salesforce_outbound.py): the fixture names its doc page."""

from pathlib import Path

import pytest

from schemas.crm import Export
from schemas.salesforce_outbound import ACK, OutboundError, as_record, parse_outbound, same_org
from schemas.salesforce_records import OBJECTS_BY_NAME, convert_records

MESSAGE = (Path(__file__).parent.parent / "data" / "salesforce" / "outbound_opportunity_and_task.xml").read_bytes()


def test_a_message_with_two_notifications_is_read_with_its_org_and_fields():
    message = parse_outbound(MESSAGE)
    assert (message.organization_id, message.action_id) == ("00D000000000004AAA", "04k000000000001AAA")
    opportunity, task = message.notifications
    assert (opportunity.id, opportunity.sobject, task.sobject) == ("04l000000000001AAA", "Opportunity", "Task")
    assert opportunity.fields["StageName"] == "Closed Won" and opportunity.fields["IsWon"] == "true"
    assert task.fields["Description"] is None  # xsi:nil


def test_notifications_become_the_touches_of_the_same_records_queried():
    message = parse_outbound(MESSAGE)
    export = Export("salesforce:00D000000000004AAA")
    touches = [r for n in message.notifications
               for _, r in convert_records(OBJECTS_BY_NAME[n.sobject], [as_record(n)], export)]
    assert [(t.event_id, t.event_type) for t in touches] == [
        ("006000000000001:created", "opportunity_created"), ("006000000000001:closed", "closed_won"),
        ("00T000000000001", "call")]
    assert touches[2].occurred_at.isoformat() == "2026-01-07T15:00:00+00:00"


@pytest.mark.parametrize(("body", "problem"), [
    (b"<soapenv:Envelope", "not well-formed XML"),
    (b"<notifications xmlns='http://soap.sforce.com/2005/09/outbound'/>", "expected a SOAP 1.1 Envelope"),
    (b"<e:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/'><e:Body/></e:Envelope>",
     "holds no notifications element"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     b"<lolz>&lol2;</lolz>", "refused XML"),
    (b'<?xml version="1.0" encoding="bogus"?><a/>', "unreadable XML: unknown encoding"),
    (b'<?xml version="1.0" encoding="shift_jis"?><a/>', "unreadable XML: multi-byte encodings"),
])
def test_a_body_that_is_no_outbound_message_says_why(body, problem):
    with pytest.raises(OutboundError, match=problem):
        parse_outbound(body)


def test_more_than_100_notifications_are_refused_and_org_ids_compare_on_15_characters():
    one = MESSAGE[MESSAGE.index(b"<Notification>"):MESSAGE.index(b"</Notification>") + len(b"</Notification>")]
    crowded = MESSAGE.replace(one, one * 101, 1)
    with pytest.raises(OutboundError, match="at most 100"):
        parse_outbound(crowded)
    assert same_org("00D000000000004AAA", "00D000000000004") and not same_org("00D000000000005AAA",
                                                                              "00D000000000004AAA")
    assert b"<Ack>true</Ack>" in ACK.encode() and b"notificationsResponse" in ACK.encode()
