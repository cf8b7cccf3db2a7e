"""``touchline push``'s calls to the CRMs.

Salesforce (REST API, "sObject Collections"): ``PATCH .../composite/sobjects/{Object}/{ExternalIdField}``
upserts up to 200 records a call by their external id; ``DELETE .../composite/sobjects?ids=...``
deletes up to 200 by record id. HubSpot (CRM v3): ``POST /crm/v3/objects/deals/batch/update``
(100 deals a call), properties created first through ``/crm/v3/properties/deals/batch/create``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from transforms.crm_push import SALESFORCE_KEY, SALESFORCE_OBJECT, fingerprint, plan

SALESFORCE_BATCH, HUBSPOT_BATCH = 200, 100
ATTEMPTS, MAX_PAUSE_SECONDS = 5, 300.0


class PushError(RuntimeError):
    """A CRM refused a call or could not be reached."""


@dataclass
class Pushed:
    """What a push did."""

    written: int = 0
    removed: int = 0
    calls: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Api:
    """How to call a CRM: its token, how long to wait for an answer, the first pause when it says "too many"."""

    token: str
    timeout_seconds: float = 60.0
    retry_seconds: float = 1.0  # doubled each try; a Retry-After header wins
    say: Callable[[str], None] = lambda _line: None
    sleep: Callable[[float], None] = time.sleep


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _call(api: Api, method: str, url: str, body: Any = None) -> Any:
    """The JSON answer of one call; waits out 429 and Salesforce's REQUEST_LIMIT_EXCEEDED, ``ATTEMPTS`` tries."""
    data = None if body is None else json.dumps(body).encode()
    where = f"{method} {url.split('?')[0]}"
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(url, data=data, method=method, headers={
            "authorization": f"Bearer {api.token}", "content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=api.timeout_seconds) as response:
                text = response.read()
            return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            problem = error.read()[:500].decode(errors="replace")
            limited = error.code == 429 or (error.code == 403 and "REQUEST_LIMIT_EXCEEDED" in problem)
            if not limited or attempt == ATTEMPTS:
                tries = f" (after {attempt} tries)" if limited else ""
                raise PushError(f"{where}: HTTP {error.code}{tries}: {problem}") from None
            pause = _retry_after(error.headers.get("Retry-After"))
            pause = min(api.retry_seconds * 2 ** (attempt - 1) if pause is None else pause, MAX_PAUSE_SECONDS)
            api.say(f"{where}: HTTP {error.code}, trying again in {pause:g} s")
            api.sleep(pause)
        except urllib.error.URLError as error:
            raise PushError(f"{where}: cannot reach it: {error.reason}") from None
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise PushError(f"{where}: no answer within {api.timeout_seconds:g} s" if isinstance(error, TimeoutError)
                            else f"{where}: connection failed: {error!r}") from None
    raise AssertionError("unreachable")


def push_salesforce(api: Api, instance_url: str, version: str, wanted: dict[str, dict[str, Any]],
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
        results = _call(api, "PATCH", f"{base}/{SALESFORCE_OBJECT}/{SALESFORCE_KEY}",
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
        results = _call(api, "DELETE", f"{base}?ids={ids}&allOrNone=false")
        done.calls += 1
        for key, result in zip(batch, results, strict=True):
            not_found = any(e.get("statusCode") == "ENTITY_IS_DELETED" for e in result.get("errors") or [])
            if result.get("success") or not_found:
                del ledger[key]
                done.removed += 1
            else:
                done.failures.append(f"{key}: {result.get('errors')}")
    return done


def ensure_hubspot_properties(api: Api, api_url: str, names: list[str]) -> int:
    """Create the deal properties HubSpot lacks; return how many were created."""
    base = f"{api_url.rstrip('/')}/crm/v3/properties/deals"
    existing = {p["name"] for p in (_call(api, "GET", base) or {}).get("results", [])}
    missing = [name for name in names if name not in existing]
    if missing:
        _call(api, "POST", f"{base}/batch/create", {"inputs": [
            {"name": name, "label": name.replace("_", " ").capitalize(), "type": "string", "fieldType": "text",
             "groupName": "dealinformation"} for name in missing]})
    return len(missing)


def push_hubspot(api: Api, api_url: str, wanted: dict[str, dict[str, str]], names: list[str],
                 ledger: dict[str, Any]) -> Pushed:
    """Update the deals whose properties changed; clear those of deals whose credit disappeared.

    A batch HubSpot takes only in part answers 207 Multi-Status: the deals named in its ``errors``
    (``context.ids``), or missing from its ``results``, stay out of the ledger and are sent again next time.
    """
    todo = plan(wanted, ledger)
    cleared = dict.fromkeys(names, "")
    inputs = [(deal, properties) for deal, properties in todo.writes.items()] + \
        [(deal, cleared) for deal in todo.removes]
    done = Pushed()
    url = f"{api_url.rstrip('/')}/crm/v3/objects/deals/batch/update"
    for start in range(0, len(inputs), HUBSPOT_BATCH):
        batch = inputs[start:start + HUBSPOT_BATCH]
        answer = _call(api, "POST", url, {"inputs": [{"id": deal, "properties": properties}
                                                     for deal, properties in batch]}) or {}
        done.calls += 1
        refused = {str(deal): f"{error.get('category')}: {error.get('message')}"
                   for error in answer.get("errors") or [] for deal in (error.get("context") or {}).get("ids") or []}
        updated = {str(result.get("id")) for result in answer["results"]} if "results" in answer else None
        for deal, properties in batch:
            if deal in refused or (updated is not None and deal not in updated):
                done.failures.append(f"deal {deal}: {refused.get(deal, 'not in the answer results')}")
            elif properties is cleared:
                ledger.pop(deal, None)
                done.removed += 1
            else:
                ledger[deal] = fingerprint(properties)
                done.written += 1
    return done
