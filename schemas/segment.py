"""Convert Segment-spec calls (track, page, screen, identify, group, and /v1/batch) to ``touch/1``.

The conversion is pure: the collector passes in the time it received the call.
Timestamps are clock-skew corrected as Segment does it:
``occurred_at = receivedAt - (sentAt - originalTimestamp)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic_core import PydanticCustomError

from schemas.channels import channel_from_utm
from schemas.touch import FieldError, TouchEvent, parse_timestamp, validate_touch
from schemas.vocabulary import EventType, Team

#: Segment track event names (the Segment B2B SaaS and e-mail specs) → event_type.
DEFAULT_EVENT_MAP: Mapping[str, EventType] = {
    "Form Submitted": EventType.FORM_FILL,
    "Demo Requested": EventType.FORM_FILL,
    "Contact Form Submitted": EventType.FORM_FILL,
    "Signed Up": EventType.TRIAL_SIGNUP,
    "Trial Started": EventType.TRIAL_SIGNUP,
    "Webinar Registered": EventType.WEBINAR_REGISTERED,
    "Webinar Attended": EventType.WEBINAR_ATTENDED,
    "Event Attended": EventType.EVENT_ATTENDED,
    "Content Downloaded": EventType.CONTENT_DOWNLOAD,
    "Whitepaper Downloaded": EventType.CONTENT_DOWNLOAD,
    "Email Opened": EventType.EMAIL_OPEN,
    "Email Link Clicked": EventType.EMAIL_CLICK,
    "Email Replied": EventType.EMAIL_REPLY,
    "Live Chat Conversation Started": EventType.CHAT,
    "Chat Started": EventType.CHAT,
    "Ad Clicked": EventType.AD_CLICK,
    "Meeting Booked": EventType.MEETING,
    "Demo Attended": EventType.DEMO,
    "Call Completed": EventType.CALL,
}

_CALL_TYPES = {
    "page": EventType.SITE_VISIT,
    "screen": EventType.SITE_VISIT,
    "identify": EventType.IDENTIFY,
    "group": EventType.GROUP,
}


def _event_type(message: Mapping[str, Any], event_map: Mapping[str, str]) -> str | FieldError:
    kind = message.get("type")
    if isinstance(kind, str) and kind in _CALL_TYPES:
        return _CALL_TYPES[kind]
    if kind != "track":
        return FieldError("type", f"unknown Segment call type {kind!r}")
    name = message.get("event")
    if not isinstance(name, str) or not name:
        return FieldError("event", "track call without an event name")
    if name in event_map:
        return event_map[name]
    if name in EventType.__members__.values():
        return name
    return FieldError("event", f"no event_type mapping for track event {name!r}")


def _timestamp(message: Mapping[str, Any], field: str) -> datetime | FieldError | None:
    value = message.get(field)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except PydanticCustomError as exc:
        return FieldError(field, str(exc))


def occurred_at(
    message: Mapping[str, Any], received_at: datetime | None
) -> datetime | FieldError:
    """Event time with the device clock's skew removed (Segment's own correction)."""
    times: dict[str, datetime | None] = {}
    for field in ("originalTimestamp", "timestamp", "sentAt", "receivedAt"):
        parsed = _timestamp(message, field)
        if isinstance(parsed, FieldError):
            return parsed
        times[field] = parsed
    received = times["receivedAt"] or received_at
    original, sent = times["originalTimestamp"], times["sentAt"]
    if original and sent and received:
        return received - (sent - original)
    best = times["timestamp"] or original or received
    if best is None:
        return FieldError("timestamp", "no timestamp, originalTimestamp or receivedAt")
    return best


def _object(parent: Mapping[str, Any], key: str, path: str) -> dict[str, Any] | FieldError:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return FieldError(path, f"must be a JSON object, got {type(value).__name__}")
    return dict(value)


def _objects(message: Mapping[str, Any]) -> tuple[dict[str, Any], ...] | list[FieldError]:
    """context, traits, properties, context.campaign and context.page: each an object (or absent)."""
    context = _object(message, "context", "context")
    if isinstance(context, FieldError):
        return [context]
    found = [_object(message, "traits", "traits") if message.get("traits") else _object(context, "traits",
                                                                                      "context.traits"),
             _object(message, "properties", "properties"),
             _object(context, "campaign", "context.campaign"), _object(context, "page", "context.page")]
    problems = [f for f in found if isinstance(f, FieldError)]
    if problems:
        return problems
    return (context, *(f for f in found if isinstance(f, dict)))


def to_touch_payload(
    message: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    source: str = "segment:web",
    event_map: Mapping[str, str] = DEFAULT_EVENT_MAP,
) -> dict[str, Any] | list[FieldError]:
    """Map one Segment call to a ``touch/1`` payload (not yet validated)."""
    event_type = _event_type(message, event_map)
    when = occurred_at(message, received_at)
    problems = [p for p in (event_type, when) if isinstance(p, FieldError)]
    if problems:
        return problems
    assert isinstance(when, datetime)
    objects = _objects(message)
    if isinstance(objects, list):
        return objects
    context, traits, properties, campaign, page = objects
    referrer = page.get("referrer") or properties.get("referrer")
    referrer = referrer if isinstance(referrer, str) else None
    utm = {k: str(v) for k, v in campaign.items() if k in {"name", "source", "medium", "term", "content"}}
    payload: dict[str, Any] = {
        "event_id": message.get("messageId"),
        "source": source,
        "event_type": event_type,
        "occurred_at": when.isoformat(),
        "received_at": received_at.isoformat() if received_at else None,
        "anonymous_id": message.get("anonymousId"),
        "user_id": message.get("userId"),
        "email": traits.get("email") or properties.pop("email", None),
        "crm_contact_id": properties.pop("crm_contact_id", None),
        "account_id": message.get("groupId") or context.get("groupId"),
        "account_domain": traits.get("domain") if message.get("type") == "group" else None,
        "channel": properties.pop("channel", None) or channel_from_utm(utm, referrer),
        "campaign_id": properties.pop("campaign_id", None) or utm.get("name"),
        "utm": utm or None,
        "team": properties.pop("team", None) or Team.MARKETING,
        "role": traits.get("role") or traits.get("title"),
        "opportunity_id": properties.pop("opportunity_id", None),
        "amount": properties.pop("amount", None),
        "currency": properties.pop("currency", None),
        "properties": {**properties, **({"url": page["url"]} if isinstance(page.get("url"), str) else {})} or None,
    }
    return {key: value for key, value in payload.items() if value is not None}


def convert(
    message: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    source: str = "segment:web",
    event_map: Mapping[str, str] = DEFAULT_EVENT_MAP,
) -> TouchEvent | list[FieldError]:
    """Convert and validate one Segment call."""
    if not isinstance(message, Mapping):
        return [FieldError("$", f"a Segment call must be a JSON object, got {type(message).__name__}")]
    payload = to_touch_payload(message, received_at=received_at, source=source, event_map=event_map)
    if isinstance(payload, list):
        return payload
    touch = validate_touch(payload)
    if isinstance(touch, TouchEvent):
        return touch
    # Name the field as the caller wrote it.
    return [FieldError(_SEGMENT_NAMES.get(e.field, e.field), e.problem) for e in touch]


_SEGMENT_NAMES = {
    "event_id": "messageId",
    "anonymous_id": "anonymousId",
    "user_id": "userId",
    "account_id": "groupId",
    "email": "traits.email",
}


def batch_messages(envelope: Mapping[str, Any]) -> list[Any] | FieldError:
    """The calls of a ``/v1/batch`` envelope, with its ``sentAt`` and ``context`` applied to each."""
    batch = envelope.get("batch")
    if not isinstance(batch, list):
        return FieldError("batch", "must be a JSON array of Segment calls")
    shared = {k: envelope[k] for k in ("sentAt", "context") if k in envelope}
    return [{**shared, **message} if isinstance(message, Mapping) else message for message in batch]
