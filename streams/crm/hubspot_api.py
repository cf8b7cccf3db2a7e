"""A small client of HubSpot's CRM v3 API: objects by id, deal pipelines; retried as HubSpot asks.

``requests`` with urllib3's ``Retry``: a 429 waits its ``Retry-After``, a 5xx or a dropped
connection backs off exponentially, a bounded number of times. HubSpot's official
``hubspot-api-client`` was not taken: it is generated code for every HubSpot API, and its model
objects would have to be turned back into the JSON the export converters read
(``schemas.crm.flatten_v3``); three plain calls keep the records in exactly that shape.
Docs: "CRM API | Deals / Contacts / Companies" (``GET /crm/v3/objects/{type}/{id}``),
"CRM API | Pipelines" (``GET /crm/v3/pipelines/deals``), "CRM API | Search" (``POST
/crm/v3/objects/{type}/search``), "Account information" (``GET /account-info/v3/details``),
"API usage guidelines" (429).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

#: What each object type is read with: the properties and associations the converters of schemas.crm read.
PROPERTIES = {
    "deals": ("dealname", "dealstage", "pipeline", "amount", "deal_currency_code", "dealtype", "createdate",
              "closedate", "hs_lastmodifieddate"),
    "contacts": ("email", "firstname", "lastname", "jobtitle", "hs_lead_status", "createdate", "lastmodifieddate"),
    "companies": ("name", "domain", "website", "createdate", "hs_lastmodifieddate"),
    # engagements ("CRM API | Calls / Meetings / Email"): when, and what tells a call, meeting or e-mail apart
    "calls": ("hs_timestamp", "hs_call_title", "hs_call_direction", "hs_lastmodifieddate"),
    "meetings": ("hs_timestamp", "hs_meeting_title", "hs_meeting_start_time", "hs_lastmodifieddate"),
    "emails": ("hs_timestamp", "hs_email_direction", "hs_email_subject", "hs_lastmodifieddate"),
}
ASSOCIATIONS = {"deals": ("companies", "contacts"), "contacts": ("companies",), "companies": (),
                "calls": ("contacts", "companies"), "meetings": ("contacts", "companies"),
                "emails": ("contacts", "companies")}
HISTORY = {"deals": ("dealstage",)}


class HubspotError(Exception):
    """An answer that retrying does not change (or retries ran out): the status and HubSpot's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HubSpot answered {status}: {message}")
        self.status = status


class ObjectGone(HubspotError):
    """404: the object no longer exists (deleted, or merged into another)."""


class HubspotApi:
    """``GET``s against ``base_url`` with a private app's token; ``attempts`` bounds the tries of one request."""

    def __init__(self, base_url: str, token: str, *, attempts: int = 5, backoff_seconds: float = 0.5,
                 timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        retry = Retry(total=attempts - 1, connect=attempts - 1, read=attempts - 1, status=attempts - 1,
                      backoff_factor=backoff_seconds, backoff_max=30, status_forcelist=(429, 500, 502, 503, 504),
                      allowed_methods=None, respect_retry_after_header=True, raise_on_status=False)
        self.session.mount(self.base_url, HTTPAdapter(max_retries=retry))
        self.requests = 0

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        self.requests += 1
        try:
            answer = self.session.request(method, self.base_url + path, timeout=self.timeout_seconds, **options)
        except requests.RequestException as error:  # retries ran out on a connection that kept failing
            raise HubspotError(0, f"no answer from {self.base_url} ({error})") from error
        if answer.status_code == 200:
            body: dict[str, Any] = answer.json()
            return body
        try:
            message = str(answer.json().get("message") or answer.reason)
        except ValueError:
            message = answer.reason
        if answer.status_code == 404:
            raise ObjectGone(404, message)
        raise HubspotError(answer.status_code, message)

    def read_object(self, object_path: str, object_id: str) -> dict[str, Any]:
        """One deal, contact, company, call, meeting or e-mail with the properties, associations and history its
        converter reads."""
        params = {"properties": ",".join(PROPERTIES[object_path]), "archived": "false"}
        if ASSOCIATIONS[object_path]:
            params["associations"] = ",".join(ASSOCIATIONS[object_path])
        if object_path in HISTORY:
            params["propertiesWithHistory"] = ",".join(HISTORY[object_path])
        return self._get(f"/crm/v3/objects/{object_path}/{object_id}", params)

    def deal_pipelines(self) -> dict[str, Any]:
        """Every deal pipeline with its stages (and their ``metadata``)."""
        return self._get("/crm/v3/pipelines/deals")

    def search(self, object_path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One page of ``POST /crm/v3/objects/{type}/search``: ``results`` and ``paging.next.after``."""
        return self._call("POST", f"/crm/v3/objects/{object_path}/search", json=body)

    def account_details(self) -> dict[str, Any]:
        """The portal's ``portalId``, ``companyCurrency``, ``timeZone`` ("Account information API")."""
        return self._get("/account-info/v3/details")

    def close(self) -> None:
        self.session.close()
