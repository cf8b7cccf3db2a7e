"""Attribution written back to the CRM: which records the CRM must hold, and what to change to get there.

Salesforce: one ``Touchline_Touch_Credit__c`` record per (opportunity, touch, model), keyed by the
external id ``Touchline_Key__c`` (a hash of the touch key, the opportunity and the model), with the
touch's time, channel, campaign, content, person, journey stage, its share of the conversion
and its pipeline and revenue credit. HubSpot: deal properties (first touch, lead touch, each
model's top channel and campaign, the touch count).

A push compares what the CRM should hold with what the last push left there (its ledger): only
new or changed records are sent, and records whose credit disappeared are deleted (Salesforce)
or cleared (HubSpot), so a rerun changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

SALESFORCE_OBJECT = "Touchline_Touch_Credit__c"
SALESFORCE_KEY = "Touchline_Key__c"
#: The custom object's fields (besides the key), for a Salesforce admin to create.
SALESFORCE_FIELDS = ("Opportunity__c", "Model__c", "Touch_Event_Id__c", "Touch_Source__c", "Touch_At__c",
                     "Channel__c", "Campaign__c", "Content__c", "Person__c", "Journey_Stage__c", "Event_Type__c",
                     "Opportunity_Share__c", "Pipeline_Credit__c", "Won_Share__c", "Revenue_Credit__c", "Currency__c")


class Credit(NamedTuple):
    """One touch's credit for one conversion of an opportunity, under one model."""

    opportunity_id: str
    conversion_type: str  # opportunity | closed_won
    model: str
    source: str
    event_id: str
    occurred_at: str
    channel: str | None
    campaign_id: str | None
    content_id: str | None
    event_type: str | None
    stage: str | None
    person: str | None
    credit: float
    revenue_credit: float | None
    pipeline_credit: float | None
    currency: str | None
    is_lead: bool = False


class Plan(NamedTuple):
    """What one push sends: records to write (key → fields) and keys to remove."""

    writes: dict[str, dict[str, Any]]
    removes: list[str]


def fingerprint(fields: Mapping[str, Any]) -> str:
    """A record's content, as a short hash (what the ledger remembers of it)."""
    return hashlib.blake2b(json.dumps(fields, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()


def salesforce_key(source: str, event_id: str, opportunity_id: str, model: str) -> str:
    """The external id of an (opportunity, touch, model) record: derived from them alone."""
    text = "\x1f".join((source, event_id, opportunity_id, model))
    return "tl_" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def salesforce_records(credits: Iterable[Credit]) -> dict[str, dict[str, Any]]:
    """External id → the record's fields: the touch's share of the opportunity and its pipeline credit, and once
    the deal is won its share of the win and its revenue credit (None where the touch has no part in it)."""
    records: dict[str, dict[str, Any]] = {}
    for credit in credits:
        key = salesforce_key(credit.source, credit.event_id, credit.opportunity_id, credit.model)
        record = records.setdefault(key, {
            "Opportunity__c": credit.opportunity_id, "Model__c": credit.model, "Touch_Event_Id__c": credit.event_id,
            "Touch_Source__c": credit.source, "Touch_At__c": credit.occurred_at, "Channel__c": credit.channel,
            "Campaign__c": credit.campaign_id, "Content__c": credit.content_id, "Person__c": credit.person,
            "Journey_Stage__c": credit.stage, "Event_Type__c": credit.event_type, "Opportunity_Share__c": None,
            "Pipeline_Credit__c": None, "Won_Share__c": None, "Revenue_Credit__c": None,
            "Currency__c": credit.currency})
        if credit.conversion_type == "opportunity":
            record["Opportunity_Share__c"] = _rounded(credit.credit)
            record["Pipeline_Credit__c"] = _rounded(credit.pipeline_credit)
        else:
            record["Won_Share__c"] = _rounded(credit.credit)
            record["Revenue_Credit__c"] = _rounded(credit.revenue_credit)
        record["Currency__c"] = credit.currency or record["Currency__c"]
    return records


def _top(weights: Mapping[str | None, float]) -> str:
    named = [(weight, name) for name, weight in weights.items() if name]
    return max(named, key=lambda item: (round(item[0], 9), item[1]))[1] if named else ""


def hubspot_properties(credits: Iterable[Credit], models: Iterable[str]) -> dict[str, dict[str, str]]:
    """Deal id → Touchline's deal properties (every property present, "" when it has no value)."""
    by_deal: dict[str, list[Credit]] = defaultdict(list)
    for credit in credits:
        by_deal[credit.opportunity_id].append(credit)
    names = list(models)
    deals: dict[str, dict[str, str]] = {}
    for deal, rows in by_deal.items():
        touches = {(c.source, c.event_id): c for c in rows}
        ordered = sorted(touches.values(), key=lambda c: (c.occurred_at, c.source, c.event_id))
        leads = [c for c in ordered if c.is_lead]
        properties = {
            "touchline_first_touch_at": ordered[0].occurred_at,
            "touchline_first_touch_channel": ordered[0].channel or "",
            "touchline_lead_touch_at": leads[0].occurred_at if leads else "",
            "touchline_lead_touch_channel": (leads[0].channel or "") if leads else "",
            "touchline_touches": str(len(touches)),
        }
        for model in names:
            channels: dict[str | None, float] = defaultdict(float)
            campaigns: dict[str | None, float] = defaultdict(float)
            for c in rows:
                if c.model == model and c.conversion_type == "opportunity":
                    channels[c.channel] += c.credit
                    campaigns[c.campaign_id] += c.credit
            properties[f"touchline_{model}_top_channel"] = _top(channels)
            properties[f"touchline_{model}_top_campaign"] = _top(campaigns)
        deals[deal] = properties
    return deals


def hubspot_property_names(models: Iterable[str]) -> list[str]:
    """Every deal property a push writes (created in HubSpot if missing)."""
    fixed = ["touchline_first_touch_at", "touchline_first_touch_channel", "touchline_lead_touch_at",
             "touchline_lead_touch_channel", "touchline_touches"]
    return fixed + [f"touchline_{m}_top_{what}" for m in models for what in ("channel", "campaign")]


def plan(wanted: Mapping[str, Mapping[str, Any]], pushed: Mapping[str, str]) -> Plan:
    """What to send, given what the CRM should hold (key → fields) and what the last push left (key → fingerprint)."""
    writes = {key: dict(fields) for key, fields in wanted.items() if pushed.get(key) != fingerprint(fields)}
    return Plan(writes, sorted(key for key in pushed if key not in wanted))
