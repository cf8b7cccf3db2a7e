"""``touchline push``'s calls to the CRMs.

Salesforce (REST API, "sObject Collections"): ``PATCH .../composite/sobjects/{Object}/{ExternalIdField}``
upserts up to 200 records a call by their external id; ``DELETE .../composite/sobjects?ids=...``
deletes up to 200 by record id. HubSpot (CRM v3): ``POST /crm/v3/objects/deals/batch/update``
(100 deals a call), properties created first through ``/crm/v3/properties/deals/batch/create``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from transforms.crm_push import SALESFORCE_KEY, SALESFORCE_OBJECT, fingerprint, plan

SALESFORCE_BATCH, HUBSPOT_BATCH = 200, 100


class PushError(RuntimeError):
    """A CRM refused a call or some of its records."""


@dataclass
class Pushed:
    """What a push did."""

    written: int = 0
    removed: int = 0
    calls: int = 0
    failures: list[str] = field(default_factory=list)


def _call(method: str, url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "authorization": f"Bearer {token}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        raise PushError(f"{method} {url}: HTTP {error.code}: {error.read()[:500].decode(errors='replace')}") from None
    return json.loads(text) if text else None


def push_salesforce(instance_url: str, version: str, token: str, wanted: dict[str, dict[str, Any]],
                    ledger: dict[str, Any]) -> Pushed:
    """Upsert what changed, delete what disappeared; ``ledger`` (key → [fingerprint, record id]) is updated in place."""
    base = f"{instance_url.rstrip('/')}/services/data/{version}/composite/sobjects"
    todo = plan(wanted, {key: entry[0] for key, entry in ledger.items()})
    done = Pushed()
    keys = list(todo.writes)
    for start in range(0, len(keys), SALESFORCE_BATCH):
        batch = keys[start:start + SALESFORCE_BATCH]
        records = [{"attributes": {"type": SALESFORCE_OBJECT}, SALESFORCE_KEY: key, **todo.writes[key]}
                   for key in batch]
        results = _call("PATCH", f"{base}/{SALESFORCE_OBJECT}/{SALESFORCE_KEY}", token,
                        {"allOrNone": False, "records": records})
        done.calls += 1
        for key, result in zip(batch, results, strict=True):
            if result.get("success"):
                ledger[key] = [fingerprint(todo.writes[key]), result.get("id")]
                done.written += 1
            else:
                done.failures.append(f"{key}: {result.get('errors')}")
    for start in range(0, len(todo.removes), SALESFORCE_BATCH):
        batch = todo.removes[start:start + SALESFORCE_BATCH]
        ids = ",".join(str(ledger[key][1]) for key in batch)
        results = _call("DELETE", f"{base}?ids={ids}&allOrNone=false", token)
        done.calls += 1
        for key, result in zip(batch, results, strict=True):
            not_found = any(e.get("statusCode") == "ENTITY_IS_DELETED" for e in result.get("errors") or [])
            if result.get("success") or not_found:
                del ledger[key]
                done.removed += 1
            else:
                done.failures.append(f"{key}: {result.get('errors')}")
    return done


def ensure_hubspot_properties(api_url: str, token: str, names: list[str]) -> int:
    """Create the deal properties HubSpot lacks; return how many were created."""
    base = f"{api_url.rstrip('/')}/crm/v3/properties/deals"
    existing = {p["name"] for p in (_call("GET", base, token) or {}).get("results", [])}
    missing = [name for name in names if name not in existing]
    if missing:
        _call("POST", f"{base}/batch/create", token, {"inputs": [
            {"name": name, "label": name.replace("_", " ").capitalize(), "type": "string", "fieldType": "text",
             "groupName": "dealinformation"} for name in missing]})
    return len(missing)


def push_hubspot(api_url: str, token: str, wanted: dict[str, dict[str, str]], names: list[str],
                 ledger: dict[str, Any]) -> Pushed:
    """Update the deals whose properties changed; clear those of deals whose credit disappeared."""
    todo = plan(wanted, ledger)
    cleared = dict.fromkeys(names, "")
    inputs = [(deal, properties) for deal, properties in todo.writes.items()] + \
        [(deal, cleared) for deal in todo.removes]
    done = Pushed()
    url = f"{api_url.rstrip('/')}/crm/v3/objects/deals/batch/update"
    for start in range(0, len(inputs), HUBSPOT_BATCH):
        batch = inputs[start:start + HUBSPOT_BATCH]
        _call("POST", url, token, {"inputs": [{"id": deal, "properties": properties} for deal, properties in batch]})
        done.calls += 1
        for deal, properties in batch:
            if properties is cleared:
                ledger.pop(deal, None)
                done.removed += 1
            else:
                ledger[deal] = fingerprint(properties)
                done.written += 1
    return done
