"""Convert CRM exports (Salesforce and HubSpot, as CSV or JSON rows) to ``touch/1``.

Each converter maps one row to a touch, to :class:`Skipped` (a row that is no touch, with
the reason), or to field errors. Rows keep their CRM record id as ``event_id``, so
importing the same export twice yields the same touches (deduplicated on
``(source, event_id)``). Date-only CRM times keep day precision
(``occurred_at_precision = "day"``, at 00:00 UTC) rather than an invented hour.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic_core import PydanticCustomError

from schemas.channels import channel_from_crm
from schemas.touch import FieldError, TouchEvent, parse_timestamp, validate_touch
from schemas.vocabulary import EventType, Team, TimePrecision

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row that is valid CRM data but no touch (e.g. an e-mail that was only sent)."""

    reason: str


Converted = TouchEvent | Skipped | list[FieldError]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_EPOCH_MS = re.compile(r"^\d{12,14}$")


def crm_time(value: Any) -> tuple[datetime, TimePrecision]:
    """Parse a CRM time: RFC 3339 (also ``+0000`` offsets), epoch milliseconds, or a date."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC), TimePrecision.INSTANT
    text = str(value).strip()
    if _DATE_ONLY.match(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC), TimePrecision.DAY
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, UTC), TimePrecision.INSTANT
    return parse_timestamp(_COMPACT_OFFSET.sub(r"\1:\2", text)), TimePrecision.INSTANT


def _team_from_role(role: Any, default: Team) -> Team:
    text = str(role or "").lower()
    for needle, team in (
        ("sdr", Team.SDR), ("bdr", Team.SDR), ("development", Team.SDR),
        ("success", Team.CUSTOMER_SUCCESS), ("csm", Team.CUSTOMER_SUCCESS),
        ("marketing", Team.MARKETING), ("partner", Team.PARTNER),
        ("account executive", Team.SALES), ("sales", Team.SALES),
    ):
        if needle in text:
            return team
    return default


def _first(row: Row, *names: str) -> Any:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _touch(row: Row, time_field: str, payload: dict[str, Any]) -> Converted:
    """Finish a payload: parse its time from ``row[time_field]`` and validate."""
    raw_time = row.get(time_field)
    if raw_time in (None, ""):
        return [FieldError(time_field, "required field is missing")]
    try:
        when, precision = crm_time(raw_time)
    except (PydanticCustomError, ValueError) as exc:
        return [FieldError(time_field, str(exc))]
    payload = {
        **payload,
        "occurred_at": when.isoformat(),
        "occurred_at_precision": precision,
    }
    return validate_touch({k: v for k, v in payload.items() if v not in (None, "")})


def _amount(value: Any) -> Any:
    try:
        return float(value) if isinstance(value, str) and value.strip() else value
    except ValueError:
        return value  # validation names the field


# --- Salesforce ---------------------------------------------------------------------------

_SF_CAMPAIGN_TOUCHES = {
    ("webinar", True): EventType.WEBINAR_ATTENDED,
    ("webinar", False): EventType.WEBINAR_REGISTERED,
    ("trade show", True): EventType.EVENT_ATTENDED,
    ("conference", True): EventType.EVENT_ATTENDED,
    ("event", True): EventType.EVENT_ATTENDED,
    ("advertisement", True): EventType.AD_CLICK,
    ("email", True): EventType.EMAIL_CLICK,
    ("content", True): EventType.CONTENT_DOWNLOAD,
    ("whitepaper", True): EventType.CONTENT_DOWNLOAD,
}


def salesforce_campaign_member(row: Row, source: str) -> Converted:
    """``CampaignMember``: a responded member is a touch of the campaign's type."""
    campaign_type = str(_first(row, "Campaign.Type", "CampaignType") or "").lower()
    status = str(row.get("Status") or "").lower()
    responded = str(row.get("HasResponded") or "").lower() in {"true", "1", "yes"} or status in {
        "responded", "attended", "registered",
    }
    attended = status in {"attended", "responded"}
    event_type = _SF_CAMPAIGN_TOUCHES.get((campaign_type, attended))
    if not responded:
        return Skipped(f"campaign member did not respond (status {status or 'empty'})")
    if event_type is None:
        event_type = EventType.FORM_FILL
    return _touch(row, "FirstRespondedDate" if row.get("FirstRespondedDate") else "CreatedDate", {
        "event_id": row.get("Id"),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": _first(row, "ContactId", "LeadId"),
        "email": row.get("Email"),
        "account_id": _first(row, "AccountId", "Contact.AccountId"),
        "campaign_id": row.get("CampaignId"),
        "channel": channel_from_crm(campaign_type),
        "team": Team.MARKETING,
    })


def salesforce_task(row: Row, source: str) -> Converted:
    """``Task``: calls and e-mails logged by SDRs and sellers."""
    subtype = str(_first(row, "TaskSubtype", "Type") or "").lower()
    event_type = {"call": EventType.CALL, "email": EventType.EMAIL_SENT,
                  "listemail": EventType.EMAIL_SENT}.get(subtype)
    if event_type is None:
        return Skipped(f"task subtype {subtype or 'empty'!r} is no touch")
    return _salesforce_activity(row, source, "CompletedDateTime", event_type, Team.SDR, channel="outbound")


def salesforce_event(row: Row, source: str) -> Converted:
    """``Event``: meetings and demos on the calendar."""
    kind = str(_first(row, "Type", "EventSubtype") or "").lower()
    subject = str(row.get("Subject") or "").lower()
    event_type = EventType.DEMO if "demo" in (kind + subject) else (
        EventType.CALL if kind == "call" else EventType.MEETING
    )
    return _salesforce_activity(row, source, "StartDateTime", event_type, Team.SALES)


def _salesforce_activity(row: Row, source: str, time_field: str, event_type: EventType, default_team: Team,
                         **extra: Any) -> Converted:
    """A Task or Event row: timed by ``time_field``, or by its date alone when that is empty."""
    return _touch(row, time_field if row.get(time_field) else "ActivityDate", {
        "event_id": row.get("Id"),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": row.get("WhoId"),
        "email": row.get("Email"),
        "account_id": row.get("AccountId"),
        "team": _team_from_role(_first(row, "OwnerRole", "Owner.UserRole.Name"), default_team),
        **extra,
    })


def _deal_event(stage: str, opportunity_type: str, first_version: bool) -> EventType:
    stage, kind = stage.lower(), opportunity_type.lower()
    if stage in {"closed won", "closedwon"}:
        if "renewal" in kind:
            return EventType.RENEWAL
        if "existing" in kind or "upsell" in kind or "expansion" in kind:
            return EventType.UPSELL
        return EventType.CLOSED_WON
    if stage in {"closed lost", "closedlost"}:
        return EventType.CLOSED_LOST
    return EventType.OPPORTUNITY_CREATED if first_version else EventType.OPPORTUNITY_STAGE_CHANGED


def salesforce_opportunity_history(rows: Iterable[Row], source: str,
                                   currency: str | None = None) -> Iterator[Converted]:
    """``OpportunityHistory``: the first version of an opportunity creates it; closes win or lose. Rows without
    ``CurrencyIsoCode`` (a single-currency org's export) are in ``currency``; without one they are invalid.
    One result per row, in the rows' order."""
    rows = list(rows)
    first: dict[str, int] = {}  # opportunity → its earliest version's row
    for index, row in enumerate(rows):
        key = str(row.get("OpportunityId"))
        if key not in first or str(row.get("CreatedDate")) < str(rows[first[key]].get("CreatedDate")):
            first[key] = index
    for index, row in enumerate(rows):
        opportunity = row.get("OpportunityId")
        event_type = _deal_event(str(row.get("StageName") or ""),
                                 str(_first(row, "Opportunity.Type", "Type") or ""),
                                 first_version=first[str(opportunity)] == index)
        yield _touch(row, "CreatedDate", {
            "event_id": row.get("Id"),
            "source": source,
            "event_type": event_type,
            "account_id": _first(row, "AccountId", "Opportunity.AccountId"),
            "opportunity_id": opportunity,
            "amount": _amount(row.get("Amount")),
            "currency": _first(row, "CurrencyIsoCode") or currency,
            "stage_raw": row.get("StageName"),
            "channel": channel_from_crm(_first(row, "LeadSource", "Opportunity.LeadSource")),
            "team": Team.SALES,
        })


# --- HubSpot ------------------------------------------------------------------------------

_HUBSPOT_ENGAGEMENTS = {
    "CALL": (EventType.CALL, Team.SDR),
    "EMAIL": (EventType.EMAIL_SENT, Team.SDR),
    "INCOMING_EMAIL": (EventType.EMAIL_REPLY, Team.MARKETING),
    "MEETING": (EventType.MEETING, Team.SALES),
}


def hubspot_engagement(row: Row, source: str) -> Converted:
    """An engagement, as the v1 API returns it or flattened to a CSV row."""
    engagement = row.get("engagement") or row
    associations = row.get("associations") or {}
    kind = str(_first(engagement, "type", "Activity type") or "").upper()
    if kind not in _HUBSPOT_ENGAGEMENTS:
        return Skipped(f"engagement type {kind or 'empty'!r} is no touch")
    event_type, team = _HUBSPOT_ENGAGEMENTS[kind]
    contact = (associations.get("contactIds") or [None])[0] or _first(row, "contact_id", "Contact ID")
    company = (associations.get("companyIds") or [None])[0] or _first(row, "company_id", "Company ID")
    return _touch(engagement, "timestamp", {
        "event_id": str(_first(engagement, "id", "Activity ID") or ""),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": str(contact) if contact else None,
        "account_id": str(company) if company else None,
        "email": _first(row, "email", "Email"),
        "team": _team_from_role(_first(row, "owner_team", "Owner team"), team),
        "channel": "outbound" if team is Team.SDR else None,
    })


def hubspot_deal(row: Row, source: str, currency: str | None = None) -> Iterator[Converted]:
    """A deal row: its creation, and its close when the stage is closed won or lost (in the row's currency, else
    ``currency``, the portal's; without either the row is invalid)."""
    deal = str(_first(row, "dealId", "Record ID", "hs_object_id") or "")
    company = _first(row, "associatedCompanyId", "Associated Company IDs", "company_id")
    base = {
        "source": source,
        "account_id": str(company).split(";")[0] if company else None,
        "opportunity_id": deal,
        "amount": _amount(_first(row, "amount", "Amount")),
        "currency": _first(row, "deal_currency_code", "Currency") or currency,
        "stage_raw": _first(row, "dealstage", "Deal Stage"),
        "team": Team.SALES,
    }
    yield _touch(row, "createdate" if row.get("createdate") else "Create Date",
                 {**base, "event_id": f"{deal}:created", "event_type": EventType.OPPORTUNITY_CREATED})
    stage = str(base["stage_raw"] or "").replace("_", "")
    closed = _deal_event(stage, str(_first(row, "dealtype", "Deal Type") or ""), first_version=False)
    if closed in {EventType.CLOSED_WON, EventType.CLOSED_LOST, EventType.RENEWAL, EventType.UPSELL}:
        yield _touch(row, "closedate" if row.get("closedate") else "Close Date",
                     {**base, "event_id": f"{deal}:{closed}", "event_type": closed})


# --- dispatch -------------------------------------------------------------------------------

RowConverter = Callable[[Row, str], Converted]


def salesforce_kind(columns: Iterable[str]) -> str | None:
    """Which Salesforce object an export holds, told by its columns."""
    names = set(columns)
    if "CampaignId" in names:
        return "campaign_member"
    if "OpportunityId" in names and "StageName" in names:
        return "opportunity_history"
    if "StartDateTime" in names:
        return "event"
    if {"TaskSubtype", "WhoId"} & names:
        return "task"
    return None


def convert_salesforce(rows: list[Row], source: str, currency: str | None = None) -> Iterator[Converted]:
    """Convert the rows of one Salesforce export, whichever object it holds (``currency``: the org's, for
    deal rows without a currency of their own)."""
    kind = salesforce_kind(rows[0].keys()) if rows else None
    if kind == "opportunity_history":
        yield from salesforce_opportunity_history(rows, source, currency)
        return
    converters: dict[str | None, RowConverter] = {
        "campaign_member": salesforce_campaign_member,
        "task": salesforce_task,
        "event": salesforce_event,
    }
    if kind not in converters:
        yield [FieldError("$", "unrecognised Salesforce export (expected CampaignMember, Task, "
                               "Event or OpportunityHistory columns)")]
        return
    convert = converters[kind]
    for row in rows:
        yield convert(row, source)


def convert_hubspot(rows: list[Row], source: str, currency: str | None = None) -> Iterator[Converted]:
    """Convert the rows of one HubSpot export: deals (``currency``: the portal's, for rows without one), or
    engagements."""
    for row in rows:
        if _first(row, "dealId", "dealstage", "Deal Stage") is not None:
            yield from hubspot_deal(row, source, currency)
        else:
            yield hubspot_engagement(row, source)
