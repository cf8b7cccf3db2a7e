"""Salesforce records as the REST API and Outbound Messages give them, read as the export files are.

A SOQL ``query`` answers records as JSON objects with an ``attributes`` member and relationship fields
nested (``{"Campaign": {"attributes": ..., "Type": "Webinar"}}``); Data Loader writes the same record as
columns ``CAMPAIGN.TYPE``. :func:`flatten` turns the former into the latter's names (``Campaign.Type``) so
that :func:`schemas.crm.salesforce_rows` reads both, and the same record becomes the same touch
(``source`` = ``salesforce:<org id>``, same ``event_id``) whichever way it came.

:data:`OBJECTS` names what ``touchline sync salesforce`` reads of each object: the fields the converters
use (those an org lacks are left out of its queries) and the field its cursor follows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.crm import Converted, Export, Numbered, Skipped, salesforce_rows
from schemas.touch import TouchEvent
from schemas.vocabulary import EventType


@dataclass(frozen=True, slots=True)
class SalesforceObject:
    """One object a sync reads: its converter's kind, its cursor field and the fields its touches need."""

    name: str
    kind: str  # as schemas.crm.salesforce_kind names it
    cursor: str  # SystemModstamp; CreatedDate for objects whose rows never change (the *History objects)
    fields: tuple[str, ...]


OBJECTS = (
    SalesforceObject("Opportunity", "opportunity", "SystemModstamp", (
        "Id", "AccountId", "StageName", "Amount", "CurrencyIsoCode", "CloseDate", "IsClosed", "IsWon", "Type",
        "LeadSource", "CreatedDate")),
    # History rows are written once and never modified: their creation is their last change.
    SalesforceObject("OpportunityHistory", "opportunity_history", "CreatedDate", (
        "Id", "OpportunityId", "StageName", "Amount", "CurrencyIsoCode", "CloseDate", "CreatedDate",
        "Opportunity.AccountId", "Opportunity.Type", "Opportunity.LeadSource")),
    SalesforceObject("OpportunityContactRole", "contact_role", "SystemModstamp", (
        "Id", "OpportunityId", "ContactId", "Role", "CreatedDate", "Opportunity.AccountId")),
    SalesforceObject("Lead", "contact", "SystemModstamp", (
        "Id", "Email", "Status", "CreatedDate", "LastModifiedDate")),
    SalesforceObject("LeadHistory", "lead_history", "CreatedDate", (
        "Id", "LeadId", "Field", "OldValue", "NewValue", "CreatedDate")),
    SalesforceObject("Contact", "contact", "SystemModstamp", (
        "Id", "Email", "AccountId", "CreatedDate", "LastModifiedDate")),
    SalesforceObject("CampaignMember", "campaign_member", "SystemModstamp", (
        "Id", "CampaignId", "ContactId", "LeadId", "Email", "Status", "HasResponded", "FirstRespondedDate",
        "CreatedDate", "Campaign.Type", "Contact.AccountId")),
    SalesforceObject("Task", "task", "SystemModstamp", (
        "Id", "WhoId", "AccountId", "Subject", "Type", "TaskSubtype", "CallType", "CallDurationInSeconds",
        "ActivityDate", "CompletedDateTime")),
    SalesforceObject("Event", "event", "SystemModstamp", (
        "Id", "WhoId", "AccountId", "Subject", "Type", "EventSubtype", "ActivityDate", "StartDateTime",
        "IsAllDayEvent")),
)
OBJECTS_BY_NAME = {o.name: o for o in OBJECTS}


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A REST API record as one flat row: ``attributes`` dropped, relationships as dotted names; values that
    are neither text nor null (numbers, booleans) as the text an export writes (``true``, ``48000.0``)."""
    row: dict[str, Any] = {}
    for name, value in record.items():
        if name == "attributes":
            continue
        if isinstance(value, Mapping):
            row |= flatten(value, f"{prefix}{name}.")
        elif isinstance(value, bool):
            row[prefix + name] = "true" if value else "false"
        else:
            row[prefix + name] = value if value is None or isinstance(value, str) else str(value)
    return row


def selected_fields(sobject: SalesforceObject, available: set[str] | None) -> list[str]:
    """The fields of ``sobject`` to query: all of them, or those the org has (``available``, its describe's field
    names; a relationship path is kept when its lookup field is there, ``Campaign.Type`` by ``CampaignId``)."""
    if available is None:
        return list(sobject.fields)
    chosen = []
    for name in sobject.fields:
        head = name.split(".", 1)[0]
        if name in available or ("." in name and f"{head}Id" in available):
            chosen.append(name)
    return chosen


def _stage_change_only(result: Converted) -> Converted:
    """OpportunityHistory's touches but for the deal's creation and close, which the sync (and an Outbound
    Message) takes from the Opportunity object: a deal is created once and closed once, whichever object says so."""
    if isinstance(result, TouchEvent) and result.event_type != EventType.OPPORTUNITY_STAGE_CHANGED:
        return Skipped(f"{result.event_type} comes from the Opportunity object (<Id>:created, <Id>:closed)")
    return result


def convert_records(sobject: SalesforceObject, records: list[Mapping[str, Any]], export: Export,
                    earliest: Mapping[str, Any] | None = None) -> Iterator[Numbered]:
    """Every result of one page of ``sobject``'s records (flattened or not), with the index of its record: each
    touch as the import of the record's export makes it. Of OpportunityHistory only the stage changes are touches
    (the deal's creation and close come from the Opportunity object); ``earliest`` tells them from first versions
    (:func:`schemas.crm.salesforce_opportunity_history`)."""
    rows: list[Mapping[str, Any]] = [flatten(record) for record in records]
    results = salesforce_rows(rows, export, sobject.kind, earliest) if rows else iter(())
    if sobject.kind != "opportunity_history":
        return results
    return ((index, _stage_change_only(result)) for index, result in results)
