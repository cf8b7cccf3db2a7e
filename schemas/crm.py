"""Convert CRM exports (Salesforce and HubSpot, as CSV or JSON rows) to ``touch/1``.

Exports come out of the tools in several forms: Salesforce API names (``StageName``), Data
Loader's upper case (``STAGENAME``), report exports' field labels (``Stage``); HubSpot's v1 and
v3 API JSON and its UI exports' labels (``Deal Stage``). Each export's columns are read through
one table of names per system (:data:`SALESFORCE_COLUMNS`, :data:`HUBSPOT_COLUMNS`), matched
whatever their case, spacing or punctuation, and the object an export holds is told by them.

Each row becomes touches, a :class:`Skipped` (a row that is no touch, with the reason) or field
errors. Touches keep the CRM record id in ``event_id``, so importing the same export twice yields
the same touches (de-duplicated on ``(source, event_id)``). Date-only CRM times keep day precision
(``occurred_at_precision = "day"``, at 00:00 UTC) rather than an invented hour; a date-time
written without a zone (UI and report exports) is read in the export's time zone, which must be
given (:class:`Export`). Deal rows without a currency take the org's, which must be given too:
none is ever assumed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from pydantic_core import PydanticCustomError

from schemas.channel_rules import Match
from schemas.channels import match_crm
from schemas.lenient import amount, currency_code, trimmed, website_host
from schemas.lenient import disposition_reason as lenient_reason
from schemas.touch import FieldError, TouchEvent, parse_timestamp, validate_touch
from schemas.vocabulary import EventType, Team, TimePrecision

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A row that is valid CRM data but no touch (e.g. an e-mail that was only sent)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Export:
    """What an export does not say about itself: its touches' source, the org's currency, its time zone."""

    source: str
    currency: str | None = None  # for deal rows without a currency of their own
    zone: tzinfo | None = None  # for date-times written without a zone
    # HubSpot deal stage id -> closedwon / closedlost, from the portal's pipelines (schemas.hubspot.closed_stages):
    # custom pipelines' closed stages; without it only the default pipeline's are known
    closed_stages: Mapping[str, str] | None = None


Converted = TouchEvent | Skipped | list[FieldError]
#: A result and the index of the row it came from (None: the export as a whole).
Numbered = tuple[int | None, Converted]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_LOCAL_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")
_US_LOCAL_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_EPOCH_MS = re.compile(r"^\d{12,14}$")


def _local(parts: tuple[str | None, ...], meridiem: str | None, zone: tzinfo | None, text: str) -> datetime:
    if zone is None:
        raise ValueError(f"{text!r} has no time zone: give the export's (--time-zone, the org's or portal's)")
    year, month, day, hour, minute, second = (int(p or 0) for p in parts)
    if meridiem:
        hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
    return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)


def crm_time(value: Any, zone: tzinfo | None = None) -> tuple[datetime, TimePrecision]:
    """Parse a CRM time: RFC 3339 (also ``+0000`` offsets), epoch milliseconds, a date (ISO or US ``M/D/YYYY``),
    or a date-time without a zone (``2026-10-10 18:00``, ``10/10/2026 6:00 PM``) in ``zone``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC), TimePrecision.INSTANT
    text = str(value).strip()
    if _DATE_ONLY.match(text):
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC), TimePrecision.DAY
    if found := _US_DATE.match(text):
        us_month, us_day, us_year = (int(p) for p in found.groups())
        return datetime(us_year, us_month, us_day, tzinfo=UTC), TimePrecision.DAY
    if _EPOCH_MS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, UTC), TimePrecision.INSTANT
    if found := _LOCAL_TIME.match(text):
        return _local(found.groups(), None, zone, text), TimePrecision.INSTANT
    if found := _US_LOCAL_TIME.match(text):
        month, day_of_month, year, hour, minute, second, meridiem = found.groups()
        return _local((year, month, day_of_month, hour, minute, second), meridiem, zone, text), TimePrecision.INSTANT
    return parse_timestamp(_COMPACT_OFFSET.sub(r"\1:\2", text)), TimePrecision.INSTANT


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


class Columns:
    """Column names as an export wrote them → the names the converters read (canonical)."""

    def __init__(self, names: Mapping[str, tuple[str, ...]]) -> None:
        self.lookup = {_key(label): canonical for canonical, labels in names.items() for label in labels}
        self.lookup |= {_key(canonical): canonical for canonical in names}

    def read(self, row: Row) -> dict[str, Any]:
        """The row under canonical names (a name no table knows is kept as written)."""
        return {self.lookup.get(_key(name), name): value for name, value in row.items()}

    def of(self, names: Iterable[str]) -> set[str]:
        """The canonical names of an export's columns."""
        return {self.lookup.get(_key(name), name) for name in names}


#: Salesforce fields (API name → report labels; Data Loader writes API names in upper case).
SALESFORCE_COLUMNS = Columns({
    "Id": ("Record ID", "Activity ID", "Task ID", "Event ID", "Campaign Member ID"),
    "OpportunityId": ("Opportunity ID", "Opportunity.Id"),
    "AccountId": ("Account ID", "Opportunity.AccountId", "Contact.AccountId", "Account.Id"),
    "StageName": ("Stage", "Opportunity Stage"),
    "Amount": ("Opportunity Amount",),
    "CurrencyIsoCode": ("Currency", "Opportunity Currency", "Currency ISO Code"),
    "CloseDate": ("Close Date",),
    "IsWon": ("Won",),
    "IsClosed": ("Closed",),
    "CreatedDate": ("Created Date", "Create Date", "Date Created"),
    "LeadSource": ("Lead Source", "Opportunity.LeadSource"),
    "Type": ("Opportunity Type", "Opportunity.Type", "Activity Type"),
    "CampaignId": ("Campaign ID",),
    "CampaignType": ("Campaign Type", "Campaign.Type"),
    "Status": ("Member Status", "Lead Status"),
    "StatusReason": ("Rejection Reason", "Disqualification Reason", "Disqualified Reason", "Unqualified Reason",
                     "Lead Status Reason", "Status Reason", "Rejection_Reason__c", "Disqualified_Reason__c"),
    "LastModifiedDate": ("Last Modified Date", "Last Modified"),
    "Field": ("Field / Event", "Changed Field"),
    "NewValue": ("New Value",),
    "OldValue": ("Old Value",),
    "HasResponded": ("Responded",),
    "FirstRespondedDate": ("First Responded Date",),
    "ContactId": ("Contact ID",),
    "LeadId": ("Lead ID",),
    "Email": ("Email Address",),
    "WhoId": ("Name ID", "Who ID"),
    "TaskSubtype": ("Task Subtype",),
    "CallType": ("Call Type",),
    "CallDurationInSeconds": ("Call Duration", "Call Duration (seconds)"),
    "ActivityDate": ("Due Date", "Date", "Activity Date"),
    "CompletedDateTime": ("Completed Date/Time",),
    "StartDateTime": ("Start", "Start Date/Time"),
    "IsAllDayEvent": ("All Day Event", "All-Day Event"),
    "EventSubtype": ("Event Subtype",),
    "Subject": (),
    "OwnerRole": ("Owner Role", "Assigned Role", "Owner.UserRole.Name"),
    "Role": ("Contact Role",),
})


def _first(row: Row, *names: str) -> Any:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes", "y", "x"}


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


def _touch(row: Row, time_field: str, payload: dict[str, Any], zone: tzinfo | None = None, *,
           day_only: bool = False) -> Converted:
    """Finish a payload: parse its time from ``row[time_field]`` (just its date with ``day_only``) and validate."""
    raw_time = row.get(time_field)
    if raw_time in (None, ""):
        return [FieldError(time_field, "required field is missing")]
    try:
        when, precision = crm_time(raw_time, zone)
    except (PydanticCustomError, ValueError) as exc:
        return [FieldError(time_field, str(exc))]
    if day_only:
        when, precision = datetime(when.year, when.month, when.day, tzinfo=UTC), TimePrecision.DAY
    payload = {**payload, "occurred_at": when.isoformat(), "occurred_at_precision": precision}
    return validate_touch({k: v for k, v in payload.items() if v not in (None, "")})


def _channel(found: Match | None) -> dict[str, Any]:
    """The channel and sub-channel fields of a CRM row, by the rule its lead source or campaign type meets."""
    return {"channel": found.channel, "subchannel": found.subchannel} if found else {}


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


def salesforce_campaign_member(row: Row, source: str, zone: tzinfo | None = None) -> Converted:
    """``CampaignMember``: a responded member is a touch of the campaign's type."""
    campaign_type = str(row.get("CampaignType") or row.get("Campaign.Type") or "").lower()
    status = str(row.get("Status") or "").lower()
    responded = _truthy(row.get("HasResponded")) or status in {"responded", "attended", "registered"}
    attended = status in {"attended", "responded"}
    if not responded:
        return Skipped(f"campaign member did not respond (status {status or 'empty'})")
    event_type = _SF_CAMPAIGN_TOUCHES.get((campaign_type, attended), EventType.FORM_FILL)
    return _touch(row, "FirstRespondedDate" if row.get("FirstRespondedDate") else "CreatedDate", {
        "event_id": row.get("Id"),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": _first(row, "ContactId", "LeadId"),
        "email": row.get("Email"),
        "account_id": _first(row, "AccountId", "Contact.AccountId"),
        "campaign_id": row.get("CampaignId"),
        **_channel(match_crm(campaign_type, "campaign_type")),
        "team": Team.MARKETING,
    }, zone)


_TASK_SUBTYPES = {"call": EventType.CALL, "email": EventType.EMAIL_SENT, "listemail": EventType.EMAIL_SENT}


def salesforce_task(row: Row, source: str, zone: tzinfo | None = None) -> Converted:
    """``Task``: calls and e-mails logged by SDRs and sellers. Lightning sets ``TaskSubtype``; a Classic
    "Log a Call" is a plain task with ``Type`` Call, a ``CallType`` or a call duration."""
    subtype = str(_first(row, "TaskSubtype") or "").lower()
    kind = str(_first(row, "Type") or "").lower()
    event_type = _TASK_SUBTYPES.get(subtype) or _TASK_SUBTYPES.get(kind)
    if event_type is None and (_first(row, "CallType", "CallDurationInSeconds")
                               or str(row.get("Subject") or "").lower().startswith("call")):
        event_type = EventType.CALL
    if event_type is None:
        return Skipped(f"task subtype {subtype or kind or 'empty'!r} is no touch")
    return _salesforce_activity(row, source, "CompletedDateTime", event_type, Team.SDR, zone, channel="outbound")


def salesforce_event(row: Row, source: str, zone: tzinfo | None = None) -> Converted:
    """``Event``: meetings and demos on the calendar; an all-day event is dated, not timed."""
    kind = str(_first(row, "Type", "EventSubtype") or "").lower()
    subject = str(row.get("Subject") or "").lower()
    event_type = EventType.DEMO if "demo" in (kind + subject) else (
        EventType.CALL if kind == "call" else EventType.MEETING
    )
    if _truthy(row.get("IsAllDayEvent")):
        time_field = "ActivityDate" if row.get("ActivityDate") else "StartDateTime"
        return _salesforce_activity(row, source, time_field, event_type, Team.SALES, zone, day_only=True)
    return _salesforce_activity(row, source, "StartDateTime", event_type, Team.SALES, zone)


def _salesforce_activity(row: Row, source: str, time_field: str, event_type: EventType, default_team: Team,
                         zone: tzinfo | None, *, day_only: bool = False, **extra: Any) -> Converted:
    """A Task or Event row: timed by ``time_field``, or by its date alone when that is empty."""
    return _touch(row, time_field if row.get(time_field) else "ActivityDate", {
        "event_id": row.get("Id"),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": _first(row, "WhoId", "ContactId"),
        "email": row.get("Email"),
        "account_id": row.get("AccountId"),
        "team": _team_from_role(_first(row, "OwnerRole", "Owner.UserRole.Name"), default_team),
        **extra,
    }, zone, day_only=day_only)


def _deal_event(stage: str, opportunity_type: str, first_version: bool) -> EventType:
    stage, kind = stage.lower().replace("_", ""), opportunity_type.lower()
    if stage in {"closed won", "closedwon"}:
        if "renewal" in kind:
            return EventType.RENEWAL
        if "existing" in kind or "upsell" in kind or "expansion" in kind:
            return EventType.UPSELL
        return EventType.CLOSED_WON
    if stage in {"closed lost", "closedlost"}:
        return EventType.CLOSED_LOST
    return EventType.OPPORTUNITY_CREATED if first_version else EventType.OPPORTUNITY_STAGE_CHANGED


def _salesforce_deal(row: Row, export: Export) -> dict[str, Any]:
    return {
        "source": export.source,
        "account_id": _first(row, "AccountId", "Opportunity.AccountId"),
        "amount": amount(row.get("Amount")),
        "currency": currency_code(_first(row, "CurrencyIsoCode") or export.currency),
        "stage_raw": row.get("StageName"),
        **_channel(match_crm(_first(row, "LeadSource", "Opportunity.LeadSource"))),
        "team": Team.SALES,
    }


def _same_time(one: Any, other: Any) -> bool:
    try:
        return crm_time(one)[0] == crm_time(other)[0]
    except (PydanticCustomError, ValueError):
        return str(one) == str(other)


def salesforce_opportunity_history(rows: Iterable[Row], source: str, currency: str | None = None,
                                   zone: tzinfo | None = None,
                                   earliest: Mapping[str, Any] | None = None) -> Iterator[Converted]:
    """``OpportunityHistory``: the first version of an opportunity creates it (``<OpportunityId>:created``); closes
    win or lose (``<OpportunityId>:closed``: a deal closed, reopened and closed again is closed once, as the
    Opportunity object says); the other versions are stage changes (the row's ``Id``). Rows without
    ``CurrencyIsoCode`` (a single-currency org's export) are in ``currency``; without one they are invalid.
    ``earliest`` (opportunity id → the ``CreatedDate`` of its first version, as an incremental sync asks the
    org for it) tells first versions of rows whose opportunity's history is not all among ``rows``.
    One result per row, in the rows' order."""
    export = Export(source, currency, zone)
    rows = list(rows)
    first: dict[str, int] = {}  # opportunity → its earliest version's row
    for index, row in enumerate(rows):
        key = str(row.get("OpportunityId"))
        if key not in first or str(row.get("CreatedDate")) < str(rows[first[key]].get("CreatedDate")):
            first[key] = index
    for index, row in enumerate(rows):
        opportunity = row.get("OpportunityId")
        known = (earliest or {}).get(str(opportunity))
        is_first = first[str(opportunity)] == index and (known is None or _same_time(row.get("CreatedDate"), known))
        event_type = _deal_event(str(row.get("StageName") or ""), str(_first(row, "Opportunity.Type", "Type") or ""),
                                 first_version=is_first)
        yield _touch(row, "CreatedDate", {**_salesforce_deal(row, export), "event_type": event_type,
                                          "event_id": _history_event_id(row, opportunity, event_type),
                                          "opportunity_id": opportunity}, zone)


#: A deal's close, whichever verdict: one per deal, ``<Id>:closed``, as the Opportunity object makes it.
_CLOSES = {EventType.CLOSED_WON, EventType.CLOSED_LOST, EventType.RENEWAL, EventType.UPSELL}


def _history_event_id(row: Row, opportunity: Any, event_type: EventType) -> Any:
    """A history row's touch id: the deal's creation and close take the Opportunity object's ids
    (``<OpportunityId>:created``, ``<OpportunityId>:closed``), so the history's export, the sync and an Outbound
    Message make one touch of each; a stage change keeps the history row's ``Id``."""
    if opportunity in (None, ""):
        return row.get("Id")
    if event_type is EventType.OPPORTUNITY_CREATED:
        return f"{opportunity}:created"
    return f"{opportunity}:closed" if event_type in _CLOSES else row.get("Id")


def salesforce_opportunity(row: Row, export: Export) -> Iterator[Converted]:
    """``Opportunity`` (the object, one row per deal): its creation, and its close once ``IsClosed``
    (won or lost by ``IsWon``, else by the stage; a renewal or expansion by ``Type``) on ``CloseDate``."""
    opportunity = _first(row, "Id", "OpportunityId")
    deal = {**_salesforce_deal(row, export), "opportunity_id": opportunity}
    yield _touch(row, "CreatedDate", {**deal, "event_id": f"{opportunity}:created",
                                      "event_type": EventType.OPPORTUNITY_CREATED}, export.zone)
    stage = str(row.get("StageName") or "")
    closed = _truthy(row.get("IsClosed")) if row.get("IsClosed") not in (None, "") else \
        _deal_event(stage, "", False) in {EventType.CLOSED_WON, EventType.CLOSED_LOST}
    if closed:
        won = _truthy(row.get("IsWon")) if row.get("IsWon") not in (None, "") else \
            _deal_event(stage, "", False) is EventType.CLOSED_WON
        event_type = _deal_event("closed won" if won else "closed lost", str(row.get("Type") or ""), False)
        yield _touch(row, "CloseDate", {**deal, "event_id": f"{opportunity}:closed", "event_type": event_type},
                     export.zone)


#: A Salesforce lead's ``Status`` (the standard picklist and common custom values, matched without case or
#: punctuation) → sales' verdict. Open statuses (``Open - Not Contacted``, ``New``) are none.
SALESFORCE_LEAD_STATUS = {
    "workingcontacted": EventType.LEAD_ACCEPTED, "working": EventType.LEAD_ACCEPTED,
    "contacted": EventType.LEAD_ACCEPTED, "accepted": EventType.LEAD_ACCEPTED,
    "salesaccepted": EventType.LEAD_ACCEPTED, "qualified": EventType.LEAD_ACCEPTED,
    "closedconverted": EventType.LEAD_ACCEPTED, "converted": EventType.LEAD_ACCEPTED,
    "closednotconverted": EventType.LEAD_REJECTED, "rejected": EventType.LEAD_REJECTED,
    "unqualified": EventType.LEAD_REJECTED,
    "nurture": EventType.LEAD_RECYCLED, "nurturing": EventType.LEAD_RECYCLED, "recycled": EventType.LEAD_RECYCLED,
    "recycle": EventType.LEAD_RECYCLED,
    "disqualified": EventType.LEAD_DISQUALIFIED, "junk": EventType.LEAD_DISQUALIFIED,
}


def _verdict(status: Any, statuses: Mapping[str, EventType]) -> EventType | None:
    return statuses.get(_key(str(status or "")))


def _disposition(row: Row, export: Export, time_field: str, contact: Any, status: Any, verdict: EventType,
                 reason: Any = None, email: Any = None) -> Converted:
    """Sales' verdict on a CRM lead or contact: a touch of the person (its id, and e-mail when the row has it)."""
    disposition_reason, note = lenient_reason(reason)
    return _touch(row, time_field, {
        "event_id": f"lead:{contact}:status:{_key(str(status))}",
        "source": export.source,
        "event_type": verdict,
        "crm_contact_id": contact,
        "email": trimmed(email),
        "team": Team.SDR,
        "stage_raw": str(status).strip(),
        "disposition_reason": disposition_reason,
        "disposition_note": note,
    }, export.zone)


def salesforce_contact(row: Row, export: Export) -> Iterator[Converted]:
    """``Contact`` or ``Lead``: links the CRM id to the e-mail (and the contact's account), as an identify; a
    lead whose ``Status`` is a verdict (:data:`SALESFORCE_LEAD_STATUS`) is also that verdict, dated by the row's
    ``LastModifiedDate`` (an upper bound: ``LeadHistory`` dates it exactly)."""
    contact = _first(row, "Id", "ContactId", "LeadId")
    yield _touch(row, "CreatedDate", {
        "event_id": f"contact:{contact}",
        "source": export.source,
        "event_type": EventType.IDENTIFY,
        "crm_contact_id": contact,
        "email": trimmed(row.get("Email")),
        "account_id": row.get("AccountId"),
    }, export.zone)
    verdict = _verdict(row.get("Status"), SALESFORCE_LEAD_STATUS)
    if verdict is not None:
        yield _disposition(row, export, "LastModifiedDate", contact, row["Status"], verdict, row.get("StatusReason"),
                           row.get("Email"))


def salesforce_lead_history(row: Row, export: Export) -> Iterator[Converted]:
    """A ``LeadHistory`` row: a change of the lead's ``Status`` to a verdict is that verdict, when it happened."""
    if _key(str(row.get("Field") or "")) not in {"status", "leadstatus"}:
        return
    verdict = _verdict(row.get("NewValue"), SALESFORCE_LEAD_STATUS)
    if verdict is not None:
        yield _disposition(row, export, "CreatedDate", row.get("LeadId"), row["NewValue"], verdict)


def salesforce_contact_role(row: Row, export: Export) -> Converted:
    """``OpportunityContactRole``: a person of the deal's buying group, with their role, as an identify that ties
    the contact to the opportunity's account."""
    return _touch(row, "CreatedDate", {
        "event_id": f"contact-role:{row.get('Id')}",
        "source": export.source,
        "event_type": EventType.IDENTIFY,
        "crm_contact_id": row.get("ContactId"),
        "account_id": _first(row, "AccountId", "Opportunity.AccountId"),
        "opportunity_id": row.get("OpportunityId"),
        "role": trimmed(row.get("Role")),
    }, export.zone)


def salesforce_kind(columns: Iterable[str]) -> str | None:
    """Which Salesforce object an export holds, told by its columns (read as :data:`SALESFORCE_COLUMNS`)."""
    names = SALESFORCE_COLUMNS.of(columns)
    if {"OpportunityId", "ContactId", "Role"} <= names and "StageName" not in names:
        return "contact_role"
    if "CampaignId" in names:
        return "campaign_member"
    if "StageName" in names:
        if {"IsWon", "IsClosed", "CloseDate"} & names and not ("OpportunityId" in names and "Id" in names):
            return "opportunity"
        if "OpportunityId" in names:
            return "opportunity_history"
    if "StartDateTime" in names or "IsAllDayEvent" in names:
        return "event"
    if {"TaskSubtype", "WhoId", "CallType", "CompletedDateTime"} & names:
        return "task"
    if "Email" in names and {"Id", "ContactId", "LeadId"} & names:
        return "contact"
    if {"LeadId", "Field", "NewValue"} <= names:
        return "lead_history"
    return None


def salesforce_rows(rows: list[Row], export: Export, kind: str | None = None,
                    earliest: Mapping[str, Any] | None = None) -> Iterator[Numbered]:
    """Every result of one Salesforce export, whichever object it holds (``kind``, else told by the columns),
    with the index of its row; ``earliest``: see :func:`salesforce_opportunity_history`."""
    kind = kind or (salesforce_kind(rows[0].keys()) if rows else None)
    read = [SALESFORCE_COLUMNS.read(row) for row in rows]
    if kind == "opportunity_history":
        history = salesforce_opportunity_history(read, export.source, export.currency, export.zone, earliest)
        yield from enumerate(history)
        return
    many: dict[str, Callable[[Row, Export], Iterator[Converted]]] = {
        "opportunity": salesforce_opportunity, "contact": salesforce_contact, "lead_history": salesforce_lead_history}
    one: dict[str, Callable[[Row, Export], Converted]] = {
        "campaign_member": lambda row, e: salesforce_campaign_member(row, e.source, e.zone),
        "contact_role": salesforce_contact_role,
        "task": lambda row, e: salesforce_task(row, e.source, e.zone),
        "event": lambda row, e: salesforce_event(row, e.source, e.zone),
    }
    if kind in many:
        for index, row in enumerate(read):
            yield from ((index, result) for result in many[kind](row, export))
    elif kind in one:
        yield from ((index, one[kind](row, export)) for index, row in enumerate(read))
    else:
        yield None, [FieldError("$", "unrecognised Salesforce export (expected the columns of a CampaignMember, Task, "
                                     "Event, Opportunity, OpportunityHistory, OpportunityContactRole, Contact, Lead "
                                     "or LeadHistory export)")]


def convert_salesforce(rows: list[Row], source: str, currency: str | None = None,
                       zone: tzinfo | None = None) -> Iterator[Converted]:
    """The results of one Salesforce export (``currency``: the org's, for deal rows without one)."""
    yield from (result for _, result in salesforce_rows(rows, Export(source, currency, zone)))


# --- HubSpot ------------------------------------------------------------------------------

#: HubSpot properties (internal name → UI export labels), as v3 names them.
HUBSPOT_COLUMNS = Columns({
    "hs_object_id": ("Record ID", "dealId", "Deal ID", "companyId", "Company ID (record)", "vid"),
    "dealstage": ("Deal Stage",),
    "dealname": ("Deal Name",),
    "dealtype": ("Deal Type",),
    "amount": ("Amount",),
    "deal_currency_code": ("Currency", "Deal currency code"),
    "createdate": ("Create Date", "Created at", "createdAt"),
    "closedate": ("Close Date",),
    "associated_company_id": ("Associated Company IDs", "Associated Company ID", "associatedCompanyId",
                              "Associated Company IDs (Primary)", "company_id", "Company ID"),
    "associated_contact_id": ("Associated Contact IDs", "Associated Contact ID", "contact_id", "Contact ID"),
    "email": ("Email",),
    "firstname": ("First Name",),
    "lastname": ("Last Name",),
    "jobtitle": ("Job Title",),
    "domain": ("Company Domain Name", "Domain"),
    "website": ("Website URL",),
    "name": ("Company name", "Name"),
    "hs_timestamp": ("Activity date", "Activity Date", "timestamp"),
    "hs_activity_type": ("Activity type", "type"),
    "hs_call_title": ("Call Title",),
    "hs_call_direction": ("Call direction",),
    "hs_meeting_title": ("Meeting name", "Meeting Name"),
    "hs_meeting_start_time": ("Meeting start time",),
    "hs_email_direction": ("Email direction",),
    "hs_email_subject": ("Email subject",),
    "owner_team": ("Owner team", "Activity assigned team"),
    "activity_id": ("Activity ID",),
    "hs_lead_status": ("Lead Status",),
    "lastmodifieddate": ("Last Modified Date", "updatedAt", "hs_lastmodifieddate"),
})

#: A HubSpot contact's ``hs_lead_status`` (internal values or their labels) → sales' verdict, and the reason
#: the status itself gives. ``NEW``, ``OPEN`` and ``ATTEMPTED_TO_CONTACT`` are none.
HUBSPOT_LEAD_STATUS = {
    "inprogress": EventType.LEAD_ACCEPTED, "connected": EventType.LEAD_ACCEPTED, "opendeal": EventType.LEAD_ACCEPTED,
    "unqualified": EventType.LEAD_DISQUALIFIED, "badtiming": EventType.LEAD_RECYCLED,
}
_HUBSPOT_STATUS_REASONS = {"badtiming": "timing"}

_HUBSPOT_ENGAGEMENTS = {
    "CALL": (EventType.CALL, Team.SDR),
    "EMAIL": (EventType.EMAIL_SENT, Team.SDR),
    "INCOMING_EMAIL": (EventType.EMAIL_REPLY, Team.MARKETING),
    "MEETING": (EventType.MEETING, Team.SALES),
}


def _hubspot_id(value: Any) -> str | None:
    """An id, or the first of a ``;``-separated list (UI exports), as text."""
    if value in (None, ""):
        return None
    return str(value).split(";")[0].strip() or None


def _engagement_kind(row: Row) -> str:
    """CALL, EMAIL, INCOMING_EMAIL, MEETING, or what the row says it is (NOTE, TASK, ...)."""
    kind = str(row.get("hs_activity_type") or "").upper()
    if kind:
        return kind
    if row.get("hs_call_title") is not None or row.get("hs_call_direction") is not None:
        return "CALL"
    if row.get("hs_meeting_title") is not None or row.get("hs_meeting_start_time") is not None:
        return "MEETING"
    direction = str(row.get("hs_email_direction") or "").upper()
    if direction or row.get("hs_email_subject") is not None:
        return "INCOMING_EMAIL" if direction == "INCOMING_EMAIL" else "EMAIL"
    return "NOTE" if row.get("hs_note_body") is not None else ""


def hubspot_engagement(row: Row, source: str, zone: tzinfo | None = None) -> Converted:
    """An engagement: the v1 API's (``engagement`` + ``associations``), a v3 activity object flattened
    (:func:`flatten_v3`), or a UI export row (a calls, meetings or e-mails export)."""
    if isinstance(row.get("engagement"), Mapping):
        engagement, associations = row["engagement"], row.get("associations") or {}
        flat = {"hs_activity_type": engagement.get("type"), "hs_timestamp": engagement.get("timestamp"),
                "activity_id": engagement.get("id"),
                "associated_contact_id": (associations.get("contactIds") or [None])[0],
                "associated_company_id": (associations.get("companyIds") or [None])[0],
                "email": row.get("email"), "owner_team": row.get("owner_team")}
    else:
        flat = HUBSPOT_COLUMNS.read(row)
    kind = _engagement_kind(flat)
    if kind not in _HUBSPOT_ENGAGEMENTS:
        return Skipped(f"engagement type {kind or 'empty'!r} is no touch")
    event_type, team = _HUBSPOT_ENGAGEMENTS[kind]
    return _touch(flat, "hs_timestamp", {
        "event_id": str(_first(flat, "activity_id", "hs_object_id") or ""),
        "source": source,
        "event_type": event_type,
        "crm_contact_id": _hubspot_id(flat.get("associated_contact_id")),
        "account_id": _hubspot_id(flat.get("associated_company_id")),
        "email": trimmed(flat.get("email")),
        "team": _team_from_role(flat.get("owner_team"), team),
        "channel": "outbound" if team is Team.SDR else None,
    }, zone)


def hubspot_deal(row: Row, source: str, currency: str | None = None, zone: tzinfo | None = None,
                 closed_stages: Mapping[str, str] | None = None) -> Iterator[Converted]:
    """A deal: its creation, each later change of its stage that the row's stage history holds (a v3 record read
    with ``propertiesWithHistory=dealstage``), and its close when the stage is closed won or lost (in the row's
    currency, else ``currency``, the portal's; without either the row is invalid). ``closed_stages`` names the
    closed stages of custom pipelines (stage id → ``closedwon``/``closedlost``)."""
    row = HUBSPOT_COLUMNS.read(row)
    closed_stages = closed_stages or {}
    deal = str(_first(row, "hs_object_id") or "")
    base = {
        "source": source,
        "account_id": _hubspot_id(row.get("associated_company_id")),
        "opportunity_id": deal,
        "amount": amount(row.get("amount")),
        "currency": currency_code(_first(row, "deal_currency_code") or currency),
        "stage_raw": row.get("dealstage"),
        "team": Team.SALES,
    }
    yield _touch(row, "createdate", {**base, "event_id": f"{deal}:created",
                                     "event_type": EventType.OPPORTUNITY_CREATED}, zone)
    yield from _hubspot_stage_changes(row, base, closed_stages, zone)
    stage = str(base["stage_raw"] or "")
    closed = _deal_event(closed_stages.get(stage, stage), str(row.get("dealtype") or ""), first_version=False)
    if closed in {EventType.CLOSED_WON, EventType.CLOSED_LOST, EventType.RENEWAL, EventType.UPSELL}:
        yield _touch(row, "closedate", {**base, "event_id": f"{deal}:{closed}", "event_type": closed}, zone)


def _hubspot_stage_changes(row: Row, base: Mapping[str, Any], closed_stages: Mapping[str, str],
                           zone: tzinfo | None) -> Iterator[Converted]:
    """The deal's moves to open stages after its first, one touch per move (``dealstage_history``, newest first
    as HubSpot lists it); moves to a closed stage are the close touch."""
    deal = base["opportunity_id"]
    moves = sorted((entry for entry in row.get("dealstage_history") or [] if isinstance(entry, Mapping)),
                   key=lambda entry: str(entry.get("timestamp")))
    for move in moves[1:]:
        stage = str(move.get("value") or "")
        if _deal_event(closed_stages.get(stage, stage), "", first_version=False) is not \
                EventType.OPPORTUNITY_STAGE_CHANGED:
            continue
        try:
            at = int(crm_time(move.get("timestamp"), zone)[0].timestamp() * 1000)
        except (PydanticCustomError, ValueError, TypeError):
            yield [FieldError("propertiesWithHistory.dealstage.timestamp", f"{move.get('timestamp')!r} is no time")]
            continue
        yield _touch(move, "timestamp", {**base, "stage_raw": stage, "event_id": f"{deal}:stage:{stage}:{at}",
                                         "event_type": EventType.OPPORTUNITY_STAGE_CHANGED}, zone)


def hubspot_contact(row: Row, export: Export) -> Iterator[Converted]:
    """A contact: links its HubSpot id to its e-mail and its company, as an identify; a contact whose lead status
    is a verdict (:data:`HUBSPOT_LEAD_STATUS`) is also that verdict, dated by its last modification (an upper
    bound: HubSpot's exports carry no time of the status change)."""
    contact = _hubspot_id(row.get("hs_object_id"))
    yield _touch(row, "createdate", {
        "event_id": f"contact:{contact}",
        "source": export.source,
        "event_type": EventType.IDENTIFY,
        "crm_contact_id": contact,
        "email": trimmed(row.get("email")),
        "account_id": _hubspot_id(row.get("associated_company_id")),
        "role": row.get("jobtitle"),
    }, export.zone)
    status = row.get("hs_lead_status")
    verdict = _verdict(status, HUBSPOT_LEAD_STATUS)
    if verdict is not None:
        yield _disposition(row, export, "lastmodifieddate", contact, status, verdict,
                           _HUBSPOT_STATUS_REASONS.get(_key(str(status))), row.get("email"))


def hubspot_company(row: Row, export: Export) -> Converted:
    """A company: ties its HubSpot id (the account) to its domain, as a group call does."""
    company = _hubspot_id(row.get("hs_object_id"))
    domain = trimmed(row.get("domain")) or website_host(row.get("website"))
    return _touch(row, "createdate", {
        "event_id": f"company:{company}",
        "source": export.source,
        "event_type": EventType.GROUP,
        "account_id": company,
        "account_domain": domain,
    }, export.zone)


def flatten_v3(record: Row) -> dict[str, Any]:
    """A v3 CRM object (``id``, ``properties``, ``associations``) as one flat row of properties."""
    flat: dict[str, Any] = {**record["properties"], "hs_object_id": record.get("id")}
    flat.setdefault("createdate", record.get("createdAt"))
    history = (record.get("propertiesWithHistory") or {}).get("dealstage")
    if history:
        flat["dealstage_history"] = history
    for kind, name in (("companies", "associated_company_id"), ("contacts", "associated_contact_id")):
        results = ((record.get("associations") or {}).get(kind) or {}).get("results") or []
        if results and flat.get(name) in (None, ""):
            flat[name] = results[0].get("id")
    return flat


def hubspot_kind(row: Row) -> str:
    """deal, contact, company or engagement, told by a row's columns."""
    if isinstance(row.get("engagement"), Mapping):
        return "engagement"
    names = set(HUBSPOT_COLUMNS.read(row))
    if {"dealstage", "dealname"} & names:
        return "deal"
    if {"hs_timestamp", "hs_activity_type", "hs_call_title", "hs_meeting_title", "hs_email_direction",
            "hs_email_subject", "hs_note_body"} & names:
        return "engagement"
    if {"firstname", "lastname", "jobtitle"} & names or ("email" in names and "domain" not in names):
        return "contact"
    if {"domain", "website", "name"} & names:
        return "company"
    return "unknown"


def hubspot_rows(rows: list[Row], export: Export) -> Iterator[Numbered]:
    """Every result of one HubSpot export (deals, engagements, contacts, companies; v1, v3 or a UI export)."""
    for index, record in enumerate(rows):
        row = flatten_v3(record) if isinstance(record.get("properties"), Mapping) else record
        kind = hubspot_kind(row)
        if kind == "deal":
            yield from ((index, result) for result in hubspot_deal(row, export.source, export.currency, export.zone,
                                                                   export.closed_stages))
        elif kind == "engagement":
            yield index, hubspot_engagement(row, export.source, export.zone)
        elif kind == "contact":
            yield from ((index, result) for result in hubspot_contact(HUBSPOT_COLUMNS.read(row), export))
        elif kind == "company":
            yield index, hubspot_company(HUBSPOT_COLUMNS.read(row), export)
        else:
            yield index, [FieldError("$", "unrecognised HubSpot row (expected a deal, an engagement, a contact "
                                          "or a company)")]


def convert_hubspot(rows: list[Row], source: str, currency: str | None = None,
                    zone: tzinfo | None = None) -> Iterator[Converted]:
    """The results of one HubSpot export (``currency``: the portal's, for deal rows without one)."""
    yield from (result for _, result in hubspot_rows(rows, Export(source, currency, zone)))
