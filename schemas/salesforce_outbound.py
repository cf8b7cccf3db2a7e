"""Salesforce Outbound Messages: the SOAP ``notifications`` call, read into records, and its answer.

The shape is Salesforce's outbound messaging WSDL ("Setting Up Outbound Messaging" and "Understanding the
Outbound Messaging WSDL", https://help.salesforce.com/s/articleView?id=sf.workflow_om_wsdl.htm): a SOAP 1.1
envelope whose body holds ``notifications`` (namespace ``http://soap.sforce.com/2005/09/outbound``) with
``OrganizationId``, ``ActionId``, ``SessionId``, ``EnterpriseUrl``, ``PartnerUrl`` and up to 100
``Notification`` elements, each an ``Id`` (the notification's) and an ``sObject`` whose ``xsi:type``
(``sf:Opportunity``) names the object and whose children (namespace
``urn:sobject.enterprise.soap.sforce.com``) are the fields the admin selected. The answer is a
``notificationsResponse`` with ``Ack`` true; until it comes, Salesforce retries the message.

Parsing goes through ``defusedxml``: the body comes from outside, and it refuses entity expansion and DTDs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100  # what one message holds at most

ACK = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
       f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
       "</soapenv:Body></soapenv:Envelope>")


class OutboundError(ValueError):
    """The body is no Outbound Message (the message says what is wrong with it)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification: its id, the object's type (``Opportunity``) and its fields (``None``: ``xsi:nil``)."""

    id: str
    sobject: str
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A ``notifications`` call: the org it comes from, the outbound message's action, and its notifications."""

    organization_id: str
    action_id: str
    notifications: tuple[Notification, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(parent: Element, name: str) -> str:
    child = parent.find(f"{{{OUTBOUND}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _notification(element: Element, index: int) -> Notification:
    sobject = element.find(f"{{{OUTBOUND}}}sObject")
    if sobject is None:
        raise OutboundError(f"Notification[{index}]: no sObject")
    kind = sobject.get(f"{{{XSI}}}type") or ""
    if not kind:
        raise OutboundError(f"Notification[{index}].sObject: no xsi:type (e.g. sf:Opportunity)")
    fields: dict[str, str | None] = {}
    for child in sobject:
        nil = (child.get(f"{{{XSI}}}nil") or "").lower() == "true"
        fields[_local(child.tag)] = None if nil else (child.text or "")
    return Notification(_text(element, "Id"), kind.rsplit(":", 1)[-1], fields)


def parse_outbound(body: bytes) -> OutboundMessage:
    """The Outbound Message in a request body; :class:`OutboundError` says what makes it none."""
    try:
        root = SafeTree.fromstring(body)
    except DefusedXmlException as exc:
        raise OutboundError(f"refused XML: {type(exc).__name__} (DTDs and entities are not accepted)") from exc
    except SafeTree.ParseError as exc:
        raise OutboundError(f"not well-formed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # an encoding declaration Python lacks, or expat cannot read
        raise OutboundError(f"unreadable XML: {exc}") from exc
    if root.tag != f"{{{SOAP}}}Envelope":
        raise OutboundError(f"expected a SOAP 1.1 Envelope, got <{_local(root.tag)}>")
    notifications = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise OutboundError(f"the SOAP Body holds no notifications element of namespace {OUTBOUND}")
    organization = _text(notifications, "OrganizationId")
    if not organization:
        raise OutboundError("notifications: no OrganizationId")
    elements = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if len(elements) > MAX_NOTIFICATIONS:
        raise OutboundError(f"{len(elements)} notifications: an Outbound Message holds at most {MAX_NOTIFICATIONS}")
    return OutboundMessage(organization, _text(notifications, "ActionId"),
                           tuple(_notification(e, i) for i, e in enumerate(elements)))


def same_org(given: str, configured: str) -> bool:
    """Whether two org ids name the same org (the 18-character id extends the 15-character one)."""
    return bool(given) and given[:15] == configured[:15]


def as_record(notification: Notification) -> dict[str, Any]:
    """A notification's fields as a record the sync's converters read (as a REST API record, flat)."""
    return dict(notification.fields)
