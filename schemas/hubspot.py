"""HubSpot's live side: webhook requests (their v3 signature and their events) and deal pipelines.

Shapes from HubSpot's developer docs: "Validating requests" (Signature v3), "Webhooks API"
(the event fields), "Pipelines API" (stages and their ``metadata``). Everything here is pure: the
current time is passed in. The CRM objects the events name are converted by :mod:`schemas.crm`,
the same converters the file import uses, so a record becomes the same touch either way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from schemas.touch import FieldError

#: A signature older than this is refused (HubSpot: "older than 5 minutes").
MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000
#: HubSpot sends at most 100 events a request.
MAX_EVENTS = 100
#: Percent-encodings HubSpot's v3 signature is computed over decoded (its docs' table).
_DECODED_IN_URI = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                   "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
#: An event's object type (the part of ``subscriptionType`` before the dot) → the CRM v3 object path.
OBJECT_PATHS = {"deal": "deals", "contact": "contacts", "company": "companies"}
#: Generic webhooks' events (``object.creation``, ``object.propertyChange``, ...: HubSpot's changelog "Generic
#: Webhook Subscriptions") name the object type by ``objectTypeId`` → the CRM v3 object path.
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-47": "meetings", "0-48": "calls",
                   "0-49": "emails"}
#: The engagements (CRM v3 activity objects) the converters make touches of → their activity type. Notes and
#: tasks are none (a note is no exchange with the buyer, a task a to-do), as in the file import.
ENGAGEMENTS = {"calls": "CALL", "meetings": "MEETING", "emails": "EMAIL"}
#: ``X-HubSpot-Request-Timestamp``: milliseconds since the epoch, ASCII digits only (``str.isdigit`` takes "²").
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
#: Events that need no fetch: the object is gone, and what it was stays as it landed.
_GONE = {"deletion", "privacyDeletion"}


def signed_uri(uri: str) -> str:
    """The request URI as HubSpot signs it: the listed percent-encodings decoded (either case)."""
    out, index = [], 0
    while index < len(uri):
        decoded = _DECODED_IN_URI.get(uri[index:index + 3].upper()) if uri[index] == "%" else None
        out.append(decoded or uri[index])
        index += 3 if decoded else 1
    return "".join(out)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """``X-HubSpot-Signature-v3`` of a request: base64 of HMAC-SHA256 (key: the app's client secret) over the
    method, the full URI HubSpot called, the raw body and the ``X-HubSpot-Request-Timestamp`` value."""
    message = method.upper().encode() + signed_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signature_problem(secret: str, method: str, uri: str, body: bytes, timestamp: str | None,
                      signature: str | None, now_ms: int) -> str | None:
    """Why a request's v3 signature is refused (missing, stale, from the future, wrong), or None when it holds."""
    if not signature or not timestamp:
        return "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-HubSpot-Request-Timestamp is not milliseconds since the epoch"
    age = now_ms - int(timestamp)
    if age > MAX_SIGNATURE_AGE_MS:
        return "X-HubSpot-Request-Timestamp is older than 5 minutes"
    if age < -MAX_SIGNATURE_AGE_MS:
        return "X-HubSpot-Request-Timestamp is more than 5 minutes ahead"
    expected = signature_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "X-HubSpot-Signature-v3 does not match"
    return None


def _integer(event: Mapping[str, Any], name: str, index: int) -> FieldError | None:
    value = event.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return FieldError(f"[{index}].{name}", "required integer is missing" if value is None else
                          f"must be an integer, got {type(value).__name__}")
    return None


def webhook_events(raw: bytes) -> list[dict[str, Any]] | FieldError:
    """The events of one webhook request (a JSON array of at most 100), each with ``subscriptionType`` (older
    payloads call it ``eventType``) and the id of the object it is about; the first problem otherwise."""
    try:
        events = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, bad UTF-8, an integer over 4,300 digits
        return FieldError("$", f"not valid JSON ({exc})")
    if not isinstance(events, list):
        return FieldError("$", f"must be a JSON array of events, got {type(events).__name__}")
    if len(events) > MAX_EVENTS:
        return FieldError("$", f"{len(events)} events: HubSpot sends at most {MAX_EVENTS} a request")
    checked = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            return FieldError(f"[{index}]", f"must be an event object, got {type(event).__name__}")
        kind = event.get("subscriptionType", event.get("eventType"))
        if not isinstance(kind, str) or "." not in kind:
            return FieldError(f"[{index}].subscriptionType", "required, as object.change (e.g. deal.creation)")
        object_field = "fromObjectId" if kind.endswith(".associationChange") else "objectId"
        for name in ("eventId", "portalId", "occurredAt", object_field):
            if problem := _integer(event, name, index):
                return problem
        checked.append({**event, "subscriptionType": kind, "objectId": event[object_field]})
    return checked


def object_to_fetch(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(CRM v3 object path, id) an event asks to read again, or None: an object type no converter takes, or an
    object that is gone (its deletion). Generic events (``object.*``) name the type by ``objectTypeId``."""
    object_type, _, change = str(event["subscriptionType"]).partition(".")
    path = OBJECT_TYPE_IDS.get(str(event.get("objectTypeId"))) if object_type == "object" else \
        OBJECT_PATHS.get(object_type)
    if path is None or change in _GONE:
        return None
    return path, str(event["objectId"])


def with_activity_type(path: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A v3 call, meeting or e-mail read from its object path, with ``hs_activity_type`` saying which (an
    export's converter guesses it from properties that may be unset); an incoming e-mail is a reply. Records of
    other paths, and those that say their type, as they are."""
    kind = ENGAGEMENTS.get(path)
    properties = record.get("properties")
    if kind is None or not isinstance(properties, Mapping) or properties.get("hs_activity_type"):
        return dict(record)
    if str(properties.get("hs_email_direction") or "").upper() == "INCOMING_EMAIL":
        kind = "INCOMING_EMAIL"
    return {**record, "properties": {**properties, "hs_activity_type": kind}}


def closed_stages(pipelines: Mapping[str, Any]) -> dict[str, str]:
    """Deal stage id → ``closedwon`` or ``closedlost``, for every closed stage of every pipeline (custom ones
    included), from a ``GET /crm/v3/pipelines/deals`` answer: a closed stage (``metadata.isClosed``) with
    probability 1 is won, any other closed stage lost."""
    closed = {}
    for pipeline in pipelines.get("results") or []:
        for stage in pipeline.get("stages") or []:
            metadata = stage.get("metadata") or {}
            if str(metadata.get("isClosed", "")).lower() != "true":
                continue
            try:
                won = float(metadata.get("probability") or 0) >= 1.0
            except (TypeError, ValueError):
                won = False
            closed[str(stage["id"])] = "closedwon" if won else "closedlost"
    return closed
