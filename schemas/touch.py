"""The canonical touch, schema ``touch/1``: the single source of truth of the wire contract.

Every producer (collector, importers, generator) emits this shape; every consumer trusts it
once :func:`parse_touch` has accepted it. The JSON Schema published as
``schemas/touch-1.schema.json`` is generated from :class:`TouchEvent` (``make schema``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.channel_rules import CHANNEL_NAME
from schemas.channels import DEFAULT_CHANNEL_RULES, declared_channels
from schemas.vocabulary import (
    ACCOUNT_ID_FIELDS,
    CURRENCIES,
    CUSTOM_PREFIX,
    DEAL_EVENTS,
    DISPOSITION_EVENTS,
    PERSON_ID_FIELDS,
    DispositionReason,
    EventType,
    Team,
    TimePrecision,
)

SCHEMA_ID = "touch/1"
SCHEMA_FILE = Path(__file__).with_name("touch-1.schema.json")

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def parse_timestamp(value: object) -> datetime:
    """Parse an RFC 3339 timestamp with a zone (or an aware datetime) into UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError("naive_datetime", "timestamp has no time zone")
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise PydanticCustomError(
            "timestamp_type", "must be an RFC 3339 string, got {kind}", {"kind": type(value).__name__}
        )
    if not _RFC3339.match(value):
        raise PydanticCustomError(
            "timestamp_format",
            "'{value}' is not an RFC 3339 timestamp with a zone (e.g. 2026-03-01T09:30:00Z)",
            {"value": value[:64]},
        )
    try:
        return datetime.fromisoformat(value.upper()).astimezone(UTC)
    except ValueError as exc:
        raise PydanticCustomError("timestamp_value", "{error}", {"error": str(exc)}) from exc


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]


def known_event_type(value: object) -> str:
    """An :class:`EventType`, or ``custom:<name>`` (a tracker's own name no mapping covers)."""
    if isinstance(value, str):
        if value in EventType.__members__.values():
            return EventType(value)
        if value.startswith(CUSTOM_PREFIX) and value[len(CUSTOM_PREFIX):].strip():
            return value
    raise PydanticCustomError("event_type", "unknown value {value}", {"value": repr(value)[:64]})


EventKind = Annotated[str, BeforeValidator(known_event_type), Field(max_length=128), WithJsonSchema({"anyOf": [
    {"enum": [str(e) for e in EventType]},
    {"type": "string", "pattern": "^custom:.*\\S", "maxLength": 128,
     "description": "a tracker's own event name that no mapping covers: a one-way touch"}]})]
Id = Annotated[str, Strict(), Field(min_length=1, max_length=256)]


def declared_channel(value: object) -> str:
    """A channel the active channel rules declare (:mod:`schemas.channels`): a team's own are no errors."""
    if isinstance(value, str) and value in declared_channels():
        return str(value)
    raise PydanticCustomError("enum", "unknown value {value}", {"value": repr(value)[:64]})


ChannelName = Annotated[str, BeforeValidator(declared_channel), WithJsonSchema({
    "type": "string", "pattern": CHANNEL_NAME.pattern,
    "description": "a channel the channel rules declare (TOUCHLINE_CHANNEL_RULES); the shipped rules declare "
                   + ", ".join(sorted(DEFAULT_CHANNEL_RULES.channels))})]
Amount = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=0)]


class TouchEvent(BaseModel):
    """One touch of a buyer (or a CRM deal or identity event), as it travels on Kafka."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="touch/1",
        json_schema_extra={
            "$id": "https://touchline.dev/schemas/touch-1.schema.json",
            "anyOf": [{"required": [name]} for name in PERSON_ID_FIELDS + ACCOUNT_ID_FIELDS],
            "allOf": [
                {
                    "if": {
                        "properties": {"event_type": {"enum": [str(e) for e in sorted(DEAL_EVENTS)]}},
                        "required": ["event_type"],
                    },
                    "then": {"required": ["opportunity_id", "amount", "currency"]},
                }
            ],
        },
    )

    # ids
    event_id: Annotated[str, Strict(), Field(min_length=1, max_length=128)]
    source: Id
    event_type: EventKind
    # timestamps
    occurred_at: Timestamp
    received_at: Timestamp | None = None
    occurred_at_precision: TimePrecision = TimePrecision.INSTANT
    # person identifiers
    anonymous_id: Id | None = None
    user_id: Id | None = None
    email: Id | None = None
    crm_contact_id: Id | None = None
    # account identifiers
    account_id: Id | None = None
    account_domain: Id | None = None
    # marketing
    channel: ChannelName | None = None
    subchannel: Annotated[str, Strict(), Field(min_length=1, max_length=128)] | None = None
    campaign_id: Id | None = None
    utm: dict[str, Annotated[str, Strict()]] | None = None
    team: Team | None = None
    role: Id | None = None
    content_id: Id | None = None  # the content asset behind the touch: its id, or the page's path
    # deal
    opportunity_id: Id | None = None
    amount: Amount | None = None
    currency: Annotated[str, Strict()] | None = None
    stage_raw: Id | None = None
    # sales' verdict on a lead (lead_accepted, lead_rejected, lead_recycled, lead_disqualified)
    disposition_reason: DispositionReason | None = None
    disposition_note: Annotated[str, Strict(), Field(max_length=1000)] | None = None
    # everything else, kept
    properties: dict[str, Any] | None = None

    @field_validator("email")
    @classmethod
    def _email_is_an_address(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise PydanticCustomError("email", "'{value}' is not an e-mail address", {"value": value[:64]})
        return value

    @field_validator("account_domain")
    @classmethod
    def _domain_is_a_host_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = value.lower().removeprefix("www.")
        if not _DOMAIN.match(domain):
            raise PydanticCustomError("domain", "'{value}' is not a domain name", {"value": value[:64]})
        return domain

    @field_validator("currency")
    @classmethod
    def _currency_is_iso_4217(cls, value: str | None) -> str | None:
        if value is not None and value not in CURRENCIES:
            raise PydanticCustomError(
                "currency", "'{value}' is not an ISO 4217 currency code", {"value": value[:16]}
            )
        return value

    @model_validator(mode="after")
    def _record_rules(self) -> TouchEvent:
        problems: list[InitErrorDetails] = []
        if not any(getattr(self, name) for name in PERSON_ID_FIELDS + ACCOUNT_ID_FIELDS):
            problems.append(_problem("identifiers", "identifier_missing",
                                     "a touch needs at least one of "
                                     + ", ".join(PERSON_ID_FIELDS + ACCOUNT_ID_FIELDS)))
        if self.event_type in DEAL_EVENTS:
            for name in ("opportunity_id", "amount", "currency"):
                if getattr(self, name) is None:
                    problems.append(_problem(name, "deal_field_missing",
                                             f"required for {self.event_type} events"))
        if self.event_type not in DISPOSITION_EVENTS:
            for name in ("disposition_reason", "disposition_note"):
                if getattr(self, name) is not None:
                    problems.append(_problem(name, "disposition_only",
                                             "only lead_accepted, lead_rejected, lead_recycled and "
                                             f"lead_disqualified touches carry it, not {self.event_type}"))
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def to_wire(self) -> dict[str, Any]:
        """The canonical JSON object (``None`` fields left out, timestamps as RFC 3339 UTC)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def _problem(field: str, kind: str, message: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=(field,), input=None)


@dataclass(frozen=True, slots=True)
class FieldError:
    """A rejected input: which field, and what is wrong with it (``$`` is the whole record)."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "string_too_short": "must not be empty",
    "dict_type": "must be a JSON object",
}


def field_errors(error: ValidationError) -> list[FieldError]:
    """Flatten a pydantic error into one :class:`FieldError` per problem."""
    found = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "$"
        kind = item["type"]
        problem = f"unknown value {item['input']!r}" if kind == "enum" else _MESSAGES.get(kind, item["msg"])
        found.append(FieldError(field, problem))
    return found


def decode_json_object(raw: bytes | str) -> dict[str, Any] | FieldError:
    """Decode one JSON document that must be an object; a :class:`FieldError` otherwise."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return FieldError("$", f"not valid UTF-8 (byte {exc.start})")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return FieldError("$", f"not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return FieldError("$", "JSON nested too deeply")
    if not isinstance(value, dict):
        return FieldError("$", f"payload must be a JSON object, got {type(value).__name__}")
    return value


def validate_touch(payload: object) -> TouchEvent | list[FieldError]:
    """Validate a decoded payload as ``touch/1``."""
    if not isinstance(payload, dict):
        return [FieldError("$", f"payload must be a JSON object, got {type(payload).__name__}")]
    try:
        return TouchEvent.model_validate(payload)
    except ValidationError as exc:
        return field_errors(exc)


def parse_touch(raw: bytes | str) -> TouchEvent | list[FieldError]:
    """Decode and validate one JSON document as ``touch/1``.

    pydantic's own JSON parser validates a good document in one pass; a rejected one is decoded
    again with ``json`` to name what is wrong with it (its parser is the laxer of the two: NaN,
    lone surrogates, deeper nesting; what it accepts the fast path accepts alike or rejects).
    """
    try:
        return TouchEvent.model_validate_json(raw)
    except ValueError:  # ValidationError, or a document pydantic's parser refuses
        return parse_touch_with_json(raw)


def parse_touch_with_json(raw: bytes | str) -> TouchEvent | list[FieldError]:
    """Decode with Python's ``json``, then validate: slower than :func:`parse_touch`, and what it falls back to."""
    payload = decode_json_object(raw)
    if isinstance(payload, FieldError):
        return [payload]
    return validate_touch(payload)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``touch/1`` as published in ``schemas/touch-1.schema.json``."""
    schema = TouchEvent.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


if __name__ == "__main__":
    SCHEMA_FILE.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA_FILE}")
