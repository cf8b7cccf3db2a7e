"""What each kind of destination is sent for an alert, and when a failed try is tried again.

- webhook: signed per the Standard Webhooks specification (https://www.standardwebhooks.com/,
  "Signature scheme"): headers ``webhook-id`` (the alert id), ``webhook-timestamp`` (seconds),
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed by the
  base64-decoded part of the ``whsec_`` secret; the body is ``{type, timestamp, data}``.
- slack: an incoming webhook's JSON, ``text`` with ``blocks`` (Slack: "Sending messages using
  incoming webhooks").
- salesforce_task: a ``Task`` upserted on the external id field ``Touchline_Alert_Id__c``
  (Salesforce REST API: "Insert or Update (Upsert) a Record Using an External ID"), so a
  repeat updates the same task.
- hubspot_task: a task created through the CRM v3 objects API, associated with the contact and
  the company (HubSpot: "Activities | Tasks"; association types 204 task→contact, 192 task→company).
  HubSpot tasks have no external key, so a retry or a resend first searches for the task by the alert
  id its body carries (CRM search: ``POST /crm/v3/objects/tasks/search``, a ``CONTAINS_TOKEN``
  filter on ``hs_task_body``, whose leading ``*`` completes a partial token) and creates it only
  when none is found.

A CRM task goes to the account's owner: ``Account.OwnerId`` (Salesforce REST API, "Get Field
Values from a Standard Object Record": ``GET .../sobjects/Account/<id>?fields=OwnerId``) becomes
the Task's ``OwnerId``; the company's ``hubspot_owner_id`` (CRM v3 companies, ``GET
/crm/v3/objects/companies/<id>?properties=hubspot_owner_id``) the task's ``hubspot_owner_id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from transforms.alerts import Alert

#: The Task field a Salesforce admin creates (Text(64), External ID, Unique) so an alert upserts one task.
SALESFORCE_EXTERNAL_ID = "Touchline_Alert_Id__c"
HUBSPOT_TASK_TO_CONTACT, HUBSPOT_TASK_TO_COMPANY = 204, 192
_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
RETRY_STATUSES = frozenset({408, 425, 429})  # and every 5xx


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str).encode()


def event_time(alert: Alert) -> str:
    """When what the alert tells of happened (event time): the breach's deadline, the transition's touch."""
    happened = alert.happened
    return str(happened.get("due_at") or happened.get("transitioned_at") or happened.get("lead_at") or "")


def webhook_body(alert: Alert) -> bytes:
    """The webhook's JSON body: the same bytes for every try of the alert."""
    data = {**alert.ids(), "alert_id": alert.alert_id, "rule": alert.rule_id, "summary": alert.summary,
            "dashboard_url": alert.link, "happened": dict(alert.happened)}
    if alert.reason is not None:
        data["reason"] = alert.reason
        data["follows"] = alert.follows
    return _json({"type": alert.type, "timestamp": event_time(alert), "data": data})


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of a Standard Webhooks message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = message_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_request(alert: Alert, url: str, secret: str, timestamp: int) -> Request:
    """The signed webhook request of a try at ``timestamp`` (Unix seconds, the try's own time)."""
    body = webhook_body(alert)
    return Request("POST", url, {"content-type": "application/json", "webhook-id": alert.alert_id,
                                 "webhook-timestamp": str(timestamp),
                                 "webhook-signature": sign(secret, alert.alert_id, timestamp, body)}, body)


def slack_request(alert: Alert, url: str) -> Request:
    """A Slack incoming-webhook message: the sentence, the account, the lead, the link."""
    fields = [f"*Account*\n{alert.account_id}"]
    if alert.lead_event_id is not None:
        fields.append(f"*Lead*\n{alert.lead_event_id}")
    waited = alert.happened.get("response_hours") or alert.happened.get("lead_sla_hours")
    if alert.type == "sla_breach" and waited is not None:
        fields.append(f"*Waited*\n{float(waited):.1f} h")
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{alert.type}*: {alert.summary}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<{alert.link}|Open the account in Touchline>"}},
    ]
    return Request("POST", url, {"content-type": "application/json"},
                   _json({"text": f"{alert.summary} {alert.link}", "blocks": blocks}))


def _description(alert: Alert) -> str:
    return f"{alert.summary}\n{alert.link}\nTouchline alert {alert.alert_id} (rule {alert.rule_id})"


def owner_request(kind: str, account_id: str, base_url: str, version: str, token: str) -> Request | None:
    """The CRM call that names the owner of an account (see the module docstring), or None where the account id
    is not one of that CRM's ids (then the task is the integration user's)."""
    headers = {"accept": "application/json", "authorization": f"Bearer {token}"}
    if kind == "salesforce_task" and _SALESFORCE_ID.match(account_id):
        return Request("GET", f"{base_url.rstrip('/')}/services/data/{version}/sobjects/Account/{account_id}"
                              "?fields=OwnerId", headers, b"")
    if kind == "hubspot_task" and account_id.isdigit():
        return Request("GET", f"{base_url.rstrip('/')}/crm/v3/objects/companies/{account_id}"
                              "?properties=hubspot_owner_id", headers, b"")
    return None


def owner_of(kind: str, answer: Any) -> str | None:
    """The owner id in the answer to :func:`owner_request` (None when the record has none)."""
    if not isinstance(answer, dict):
        return None
    owner = answer.get("OwnerId") if kind == "salesforce_task" else (answer.get("properties") or {}).get(
        "hubspot_owner_id")
    return str(owner) if owner else None


def salesforce_task_request(alert: Alert, instance_url: str, version: str, token: str,
                            owner_id: str | None = None) -> Request:
    """A ``Task`` upserted by the alert id, assigned to ``owner_id``: a repeat updates the task it made."""
    fields: dict[str, Any] = {"Subject": f"Touchline: {alert.type} {alert.account_id}"[:255],
                              "Description": _description(alert), "Status": "Not Started",
                              "Priority": "High", "ActivityDate": event_time(alert)[:10] or None}
    if _SALESFORCE_ID.match(alert.account_id):
        fields["WhatId"] = alert.account_id
    contact = alert.happened.get("crm_contact_id")
    if isinstance(contact, str) and _SALESFORCE_ID.match(contact):
        fields["WhoId"] = contact
    if owner_id:
        fields["OwnerId"] = owner_id
    url = (f"{instance_url.rstrip('/')}/services/data/{version}/sobjects/Task/"
           f"{SALESFORCE_EXTERNAL_ID}/{alert.alert_id}")
    return Request("PATCH", url, {"content-type": "application/json", "authorization": f"Bearer {token}"},
                   _json(fields))


def _hubspot_time(text: str) -> str:
    return text.replace("Z", "+00:00") if text else "1970-01-01T00:00:00+00:00"


def hubspot_task_request(alert: Alert, api_url: str, token: str, owner_id: str | None = None) -> Request:
    """A HubSpot task associated with the contact (when the record names one) and the company, assigned to
    ``owner_id``."""
    associations = []
    for object_id, type_id in ((alert.happened.get("crm_contact_id"), HUBSPOT_TASK_TO_CONTACT),
                               (alert.account_id, HUBSPOT_TASK_TO_COMPANY)):
        if isinstance(object_id, str) and object_id.isdigit():
            associations.append({"to": {"id": object_id}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]})
    body = {"properties": {"hs_timestamp": _hubspot_time(event_time(alert)),
                           "hs_task_subject": f"Touchline: {alert.type} {alert.account_id}",
                           "hs_task_body": _description(alert), "hs_task_status": "NOT_STARTED",
                           "hs_task_priority": "HIGH", "hs_task_type": "TODO",
                           **({"hubspot_owner_id": owner_id} if owner_id else {})},
            "associations": associations}
    return Request("POST", f"{api_url.rstrip('/')}/crm/v3/objects/tasks",
                   {"content-type": "application/json", "authorization": f"Bearer {token}"}, _json(body))


def hubspot_task_search_request(alert: Alert, api_url: str, token: str) -> Request:
    """The search for a task this alert already made: its body names the alert id (see :func:`_description`).
    The filter's value is the id's hex part after a ``*``, which matches however HubSpot splits ``msg_<hex>``
    into tokens; :func:`hubspot_task_found` then checks the whole id."""
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN",
                                           "value": "*" + alert.alert_id.removeprefix("msg_")}]}],
            "properties": ["hs_task_body"], "limit": 100}
    return Request("POST", f"{api_url.rstrip('/')}/crm/v3/objects/tasks/search",
                   {"content-type": "application/json", "authorization": f"Bearer {token}"}, _json(body))


def hubspot_task_found(alert: Alert, answer: Any) -> bool:
    """Whether the answer to :func:`hubspot_task_search_request` holds a task made for this alert."""
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise ValueError("task search answer: 'results' is missing or not a list")
    marker = f"Touchline alert {alert.alert_id} "
    return any(isinstance(task, dict) and marker in str((task.get("properties") or {}).get("hs_task_body") or "")
               for task in results)


def should_retry(status: int | None) -> bool:
    """Whether a try's outcome is worth another (None: no answer, a timeout or a refused connection)."""
    return status is None or status in RETRY_STATUSES or status >= 500


def retry_delay(attempt: int, retry_after: str | None, base_seconds: float, now: datetime,
                cap_seconds: float = 300.0) -> float:
    """Seconds to wait after try ``attempt`` (1-based): ``Retry-After`` when the answer gave one
    (seconds or an HTTP date), else ``base_seconds`` doubled per try; at most ``cap_seconds``."""
    if retry_after:
        text = retry_after.strip()
        if text.isdigit():
            return min(float(text), cap_seconds)
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return min(max((when - now).total_seconds(), 0.0), cap_seconds)
    return float(min(base_seconds * 2 ** (attempt - 1), cap_seconds))
