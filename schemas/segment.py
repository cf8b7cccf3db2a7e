"""Convert Segment-spec calls (track, page, screen, identify, group, alias and /v1/batch) to ``touch/1``.

The conversion is pure: the collector passes in the time it received the call. It is as lenient
as Segment's own HTTP API where that is lenient (numbers as ids, ``+0000`` offsets, one-digit
months, lower-case currency codes, amounts as numeric strings, spaces around an e-mail, no
``messageId``) and refuses only what cannot become a touch, naming the call's field.

Time as Segment does it: the device's ``originalTimestamp`` (or ``timestamp``) is corrected by the
device clock's offset, ``sentAt`` against the collector's receive time:
``occurred_at = received - (sentAt - originalTimestamp)``. A client's ``receivedAt`` is never
trusted. An event time still further in the future than :data:`FUTURE_TOLERANCE` is clamped to the
receive time and flagged in ``properties.touchline_clamped_from``. A call that names no channel is
classified by the channel rules, and what they read is kept in ``properties.touchline_channel_from``
(so ``replay --channel-rules`` re-buckets it from the same inputs).

Event names map to event types through an :class:`~schemas.event_map.EventMap`; properties stay
properties unless its rule for the name says which feeds which touch field. Fields meant for
Touchline itself travel in ``context.touchline`` (what ``touchline generate --format segment`` sends).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from schemas.channels import CHANNEL_FROM, classify_web
from schemas.event_map import DEFAULT_EVENT_MAP, EventMap, EventRule
from schemas.lenient import amount, currency_code, disposition_reason, trimmed, website_host
from schemas.touch import FieldError, TouchEvent, validate_touch
from schemas.vocabulary import EventType, Team

#: How far past its receive time an event may be dated before it is clamped to it.
FUTURE_TOLERANCE = timedelta(minutes=10)

#: touch/1 fields a call may set directly in ``context.touchline``.
TOUCHLINE_FIELDS = ("channel", "subchannel", "campaign_id", "team", "crm_contact_id", "opportunity_id", "amount",
                    "currency", "account_domain", "content_id", "disposition_reason", "disposition_note")

_CALL_TYPES = {
    "page": EventType.SITE_VISIT,
    "screen": EventType.SITE_VISIT,
    "identify": EventType.IDENTIFY,
    "group": EventType.GROUP,
    "alias": EventType.IDENTIFY,
}
#: ISO 8601 as Segment takes it: one- or two-digit month, day and hour, optional seconds and
#: fraction, ``Z``, ``±hh:mm``, ``±hhmm`` or ``±hh`` (no zone: UTC).
_SEGMENT_TIME = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$")
#: What a retry of the same call changes: left out of a derived message id.
_PER_ATTEMPT = ("sentAt", "receivedAt", "messageId", "writeKey")


def parse_segment_time(value: object, field: str) -> datetime | FieldError:
    """A Segment timestamp (see :data:`_SEGMENT_TIME`) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if not isinstance(value, str):
        return FieldError(field, f"must be an ISO 8601 string, got {type(value).__name__}")
    if len(value) >= 20 and value[10] == "T":  # what libraries send: the standard library reads it fastest
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
        except ValueError:
            pass
    found = _SEGMENT_TIME.match(value.strip())
    if not found:
        return FieldError(field, f"{value[:64]!r} is not an ISO 8601 timestamp (e.g. 2026-03-01T09:30:00Z)")
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    offset = timedelta(0)
    if zone and zone not in "Zz":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0)) * (1 if zone[0] == "+" else -1)
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          int((fraction or "0")[:6].ljust(6, "0")), tzinfo=UTC)
    except ValueError as exc:
        return FieldError(field, f"{value[:64]!r}: {exc}")
    return moment - offset


class EventTime(NamedTuple):
    """A call's event time, and the time it claimed when that was clamped."""

    at: datetime
    clamped_from: datetime | None = None


def event_time(message: Mapping[str, Any], received_at: datetime | None) -> EventTime | FieldError:
    """Event time with the device clock's offset removed and no future beyond :data:`FUTURE_TOLERANCE`."""
    times: dict[str, datetime | None] = {}
    for field in ("originalTimestamp", "timestamp", "sentAt"):
        value = message.get(field)
        parsed = None if value is None else parse_segment_time(value, field)
        if isinstance(parsed, FieldError):
            return parsed
        times[field] = parsed
    device = times["originalTimestamp"] or times["timestamp"]
    sent = times["sentAt"]
    if device is None:
        if received_at is None:
            return FieldError("timestamp", "no timestamp or originalTimestamp, and no receive time")
        return EventTime(received_at)
    at = received_at - (sent - device) if sent and received_at else device
    if received_at is not None and at > received_at + FUTURE_TOLERANCE:
        return EventTime(received_at, at)
    return EventTime(at)


def _object(parent: Mapping[str, Any], key: str, path: str) -> dict[str, Any] | FieldError:
    value = parent.get(key)
    if value is None:
        return {}
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        return FieldError(path, f"must be a JSON object, got {type(value).__name__}")
    return dict(value)


class _Parts(NamedTuple):
    context: dict[str, Any]
    traits: dict[str, Any]
    properties: dict[str, Any]
    campaign: dict[str, Any]
    page: dict[str, Any]
    touchline: dict[str, Any]


def _parts(message: Mapping[str, Any]) -> _Parts | list[FieldError]:
    """context, traits, properties, context.campaign, context.page, context.touchline: objects or absent."""
    context = _object(message, "context", "context")
    if isinstance(context, FieldError):
        return [context]
    traits = (_object(message, "traits", "traits") if message.get("traits")
              else _object(context, "traits", "context.traits"))
    found = [traits, _object(message, "properties", "properties"), _object(context, "campaign", "context.campaign"),
             _object(context, "page", "context.page"), _object(context, "touchline", "context.touchline")]
    problems = [f for f in found if isinstance(f, FieldError)]
    if problems:
        return problems
    return _Parts(context, *(f for f in found if isinstance(f, dict)))


def text_id(value: Any) -> Any:
    """An id as text: numbers become their digits, text is trimmed (anything else is left to validation)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return value


def _domain(traits: Mapping[str, Any]) -> Any:
    """A group's company domain: ``traits.domain``, or the host of ``traits.website`` (a URL or a host)."""
    domain = traits.get("domain")
    if isinstance(domain, str) and domain.strip():
        return domain.strip()
    return website_host(traits.get("website")) or domain


def derived_message_id(message: Mapping[str, Any]) -> str:
    """A message id from the call's content, for calls sent without one: a retry gets the same id."""
    content = {k: v for k, v in message.items() if k not in _PER_ATTEMPT}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return "derived-" + digest[:32]


def _rule(message: Mapping[str, Any], event_map: EventMap) -> EventRule | FieldError:
    kind = message.get("type")
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name.strip():
            return FieldError("event", "track call without an event name")
        return event_map.rule(name) or EventRule(event_map.event_type(name))
    if isinstance(kind, str) and kind in _CALL_TYPES:
        name = message.get("name")
        rule = event_map.rule(name) if kind == "page" and isinstance(name, str) else None
        return rule or EventRule(_CALL_TYPES[kind])
    return FieldError("type", f"unknown Segment call type {kind!r}")


def _content(kind: Any, properties: Mapping[str, Any], page: Mapping[str, Any]) -> Any:
    """The content asset of a call: ``properties.content_id`` or ``asset_id``; for a page call, the page's path."""
    found = _first(properties, ("content_id", "asset_id"))
    if found:
        return text_id(found[1])
    if kind in ("page", "screen"):
        path = page.get("path") or properties.get("path")
        return path.strip() or None if isinstance(path, str) else None
    return None


def _first(properties: Mapping[str, Any], names: tuple[str, ...]) -> tuple[str, Any] | None:
    for name in names:
        if properties.get(name) is not None:
            return name, properties[name]
    return None


def to_touch_payload(
    message: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    source: str = "segment:web",
    event_map: EventMap = DEFAULT_EVENT_MAP,
) -> tuple[dict[str, Any], dict[str, str]] | list[FieldError]:
    """Map one Segment call to a ``touch/1`` payload (not yet validated) and where each field came from."""
    rule = _rule(message, event_map)
    when = event_time(message, received_at)
    problems = [p for p in (rule, when) if isinstance(p, FieldError)]
    if problems:
        return problems
    assert isinstance(rule, EventRule) and isinstance(when, EventTime)
    parts = _parts(message)
    if isinstance(parts, list):
        return parts
    context, traits, properties, campaign, page, touchline = parts
    referrer = page.get("referrer") or properties.get("referrer")
    referrer = referrer if isinstance(referrer, str) else None
    utm = {k: str(v) for k, v in campaign.items() if k in {"name", "source", "medium", "term", "content"}}
    kind = message.get("type")
    payload: dict[str, Any] = {
        "event_id": text_id(message.get("messageId")) or derived_message_id(message),
        "source": source,
        "event_type": rule.event_type,
        "occurred_at": when.at.isoformat(),
        "received_at": received_at.isoformat() if received_at else None,
        "anonymous_id": text_id(message.get("previousId") if kind == "alias" else message.get("anonymousId")),
        "user_id": text_id(message.get("userId")),
        "email": trimmed(traits.get("email")),
        "account_id": text_id(message.get("groupId") or context.get("groupId")),
        "account_domain": _domain(traits) if kind == "group" else None,
        "campaign_id": utm.get("name"),
        "utm": utm or None,
        "team": rule.team or Team.MARKETING,
        "role": traits.get("role") or traits.get("title"),
    }
    origin = {"event_id": "messageId", "anonymous_id": "previousId" if kind == "alias" else "anonymousId",
              "user_id": "userId", "account_id": "groupId", "email": "traits.email",
              "account_domain": "traits.domain"}
    for target, names in rule.properties.items():
        found = _first(properties, names)
        if found:
            payload[target], origin[target] = found[1], "properties." + found[0]
    for target in TOUCHLINE_FIELDS if touchline else ():
        if touchline.get(target) is not None:
            payload[target], origin[target] = touchline[target], "context.touchline." + target
    extra: dict[str, Any] = {"url": page["url"]} if isinstance(page.get("url"), str) else {}
    if payload.get("channel") is None:  # classified by the rules, which a replay may change: keep what they read
        payload["channel"], payload["subchannel"], extra[CHANNEL_FROM] = classify_web(
            utm, referrer, extra.get("url"), payload.get("subchannel"))
    if payload.get("content_id") is None:
        payload["content_id"] = _content(kind, properties, page)
    if rule.properties or touchline:  # fields fed by the caller: as leniently as Segment reads them
        for target in ("crm_contact_id", "opportunity_id", "campaign_id"):
            payload[target] = text_id(payload.get(target))
        payload["amount"] = amount(payload.get("amount"))
        payload["currency"] = currency_code(payload.get("currency"))
        payload["disposition_reason"], payload["disposition_note"] = disposition_reason(
            payload.get("disposition_reason"), payload.get("disposition_note"))
    if when.clamped_from is not None:
        extra["touchline_clamped_from"] = when.clamped_from.isoformat()
    kept = {key: value for key, value in properties.items() if key != CHANNEL_FROM}  # the door's to write
    payload["properties"] = {**kept, **extra} or None
    return {key: value for key, value in payload.items() if value is not None}, origin


def convert(
    message: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    source: str = "segment:web",
    event_map: EventMap = DEFAULT_EVENT_MAP,
) -> TouchEvent | list[FieldError]:
    """Convert and validate one Segment call."""
    if not isinstance(message, Mapping):
        return [FieldError("$", f"a Segment call must be a JSON object, got {type(message).__name__}")]
    converted = to_touch_payload(message, received_at=received_at, source=source, event_map=event_map)
    if isinstance(converted, list):
        return converted
    payload, origin = converted
    touch = validate_touch(payload)
    if isinstance(touch, TouchEvent):
        return touch
    return [FieldError(origin.get(e.field, e.field), e.problem) for e in touch]  # named as the caller wrote it


def convert_call(
    message: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    source: str = "segment:web",
    event_map: EventMap = DEFAULT_EVENT_MAP,
) -> list[TouchEvent] | list[FieldError]:
    """The touches of one call: one, or for an ``alias`` two.

    ``previousId`` is either an anonymous id or an earlier user id (Segment's spec allows both),
    so an alias links ``userId`` to the anonymous id ``previousId`` and, by a second identify, that
    to the user id ``previousId``.
    """
    touch = convert(message, received_at=received_at, source=source, event_map=event_map)
    if isinstance(touch, list):
        return touch
    if not isinstance(message, Mapping) or message.get("type") != "alias" or not touch.anonymous_id:
        return [touch]
    earlier = touch.model_copy(update={"event_id": touch.event_id[:119] + ":previous", "user_id": touch.anonymous_id})
    return [touch, earlier]


def batch_messages(envelope: Mapping[str, Any]) -> list[Any] | FieldError:
    """The calls of a ``/v1/batch`` envelope, with its ``sentAt`` and ``context`` applied to each.

    A call's own ``context`` keeps its keys and takes the others from the envelope's (every library
    sends a ``context``, so a batch-level ``groupId`` would otherwise be lost).
    """
    batch = envelope.get("batch")
    if not isinstance(batch, list):
        return FieldError("batch", "must be a JSON array of Segment calls")
    shared = envelope.get("context")
    calls = []
    for message in batch:
        if isinstance(message, Mapping):
            message = {**({"sentAt": envelope["sentAt"]} if "sentAt" in envelope else {}), **message}
            if isinstance(shared, Mapping):
                own = message.get("context")
                message["context"] = {**shared, **own} if isinstance(own, Mapping) else (own or dict(shared))
        calls.append(message)
    return calls
