"""A small Salesforce REST API client: SOQL queries page by page, describes, and its access token.

Plain ``requests`` rather than ``simple-salesforce``: that library builds every URL as
``https://<instance>/...`` (so it cannot be pointed at a local test server over HTTP), has no OAuth 2.0
client-credentials login, and on an expired session raises instead of renewing; what is used here is three
documented endpoints (REST API Developer Guide: "Execute a SOQL Query", "Get Field and Other Metadata for an
Object", and "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration").

An expired token (401 ``INVALID_SESSION_ID``) is renewed once through the client-credentials flow, when its
client id and secret are configured; the org's API request limit (403 ``REQUEST_LIMIT_EXCEEDED``) and answers
5xx are waited out with a growing pause, said on stderr.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

API_VERSION = "60.0"  # as TOUCHLINE_SALESFORCE_API_VERSION defaults (v60.0)
MAX_WAIT_SECONDS = 900.0  # the longest single pause on REQUEST_LIMIT_EXCEEDED or a 5xx


class SalesforceError(RuntimeError):
    """Salesforce refused a request for good (bad query, bad credentials, no permission)."""


@dataclass(frozen=True)
class Credentials:
    """An access token, or the client id and secret of a connected app with the client-credentials flow, or both
    (the token is used until it expires, then renewed)."""

    access_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def renewable(self) -> bool:
        return bool(self.client_id and self.client_secret)


def _error_code(response: requests.Response) -> str:
    """The ``errorCode`` of a REST API error answer (a JSON array of ``{message, errorCode}``), else ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or "")
    return ""


def _problem(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body if isinstance(e, dict))
    if isinstance(body, dict) and "error" in body:
        return f"{body.get('error')}: {body.get('error_description', '')}"
    return str(body)[:300]


class SalesforceClient:
    """One org's REST API at ``instance_url`` (``https://MyDomain.my.salesforce.com``)."""

    def __init__(self, instance_url: str, credentials: Credentials, *, backoff_seconds: float = 30.0,
                 version: str = API_VERSION, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, say: Callable[[str], None] | None = None) -> None:
        if not credentials.access_token and not credentials.renewable:
            raise SalesforceError("no Salesforce credentials: set TOUCHLINE_SALESFORCE_ACCESS_TOKEN, or "
                                  "TOUCHLINE_SALESFORCE_CLIENT_ID and TOUCHLINE_SALESFORCE_CLIENT_SECRET")
        self.instance_url = instance_url.rstrip("/")
        self.credentials = credentials
        self.backoff_seconds = backoff_seconds
        self.version = version.removeprefix("v")  # 60.0 or v60.0
        self.session = session or requests.Session()
        self.sleep = sleep
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.token = credentials.access_token
        self.renewals = 0

    def renew(self) -> str:
        """A new access token through the client-credentials flow (``POST /services/oauth2/token``)."""
        if not self.credentials.renewable:
            raise SalesforceError("the access token is expired or invalid (INVALID_SESSION_ID) and no client "
                                  "credentials are set to renew it (TOUCHLINE_SALESFORCE_CLIENT_ID / _SECRET)")
        response = self.session.post(f"{self.instance_url}/services/oauth2/token", timeout=60, data={
            "grant_type": "client_credentials", "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret})
        if not response.ok:
            raise SalesforceError(f"client-credentials login refused ({response.status_code}): {_problem(response)}")
        self.token = str(response.json()["access_token"])
        self.renewals += 1
        return self.token

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON answer of ``GET <instance><path>``, renewing the token once and waiting out limits."""
        url = path if path.startswith(("http://", "https://")) else self.instance_url + path
        renewed, waits = False, 0
        while True:
            token = self.token or self.renew()
            response = self.session.get(url, params=params, timeout=120,
                                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            code = _error_code(response)
            if response.status_code == 401 and not renewed and self.credentials.renewable:
                renewed = True
                self.say(f"salesforce: session expired ({code or 401}); renewing the access token")
                self.renew()
                continue
            if (response.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED") or response.status_code >= 500:
                pause = min(self.backoff_seconds * 2 ** waits, MAX_WAIT_SECONDS)
                waits += 1
                self.say(f"salesforce: {code or response.status_code} on {url.split('?')[0]}; "
                         f"waiting {pause:g} s before trying again")
                self.sleep(pause)
                continue
            if not response.ok:
                hint = ("; the access token is expired or invalid and no client credentials are set to renew it "
                        "(TOUCHLINE_SALESFORCE_CLIENT_ID / _SECRET)" if response.status_code == 401 else "")
                raise SalesforceError(f"GET {url.split('?')[0]} answered {response.status_code}: "
                                      f"{_problem(response)}{hint}")
            return response.json()

    def pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        """The records of a SOQL query, one page (``records``) at a time, following ``nextRecordsUrl``."""
        answer = self.get(f"/services/data/v{self.version}/query", {"q": soql})
        while True:
            yield list(answer.get("records") or [])
            following = answer.get("nextRecordsUrl")
            if answer.get("done", True) or not following:
                return
            answer = self.get(following)

    def field_names(self, sobject: str) -> set[str]:
        """The names of an object's fields in this org (its describe)."""
        answer = self.get(f"/services/data/v{self.version}/sobjects/{sobject}/describe")
        return {str(field["name"]) for field in answer.get("fields") or []}

    def organization_id(self) -> str:
        """The org's 18-character id."""
        records = next(self.pages("SELECT Id FROM Organization"), [])
        if not records:
            raise SalesforceError("SELECT Id FROM Organization returned nothing: is this user's profile allowed to "
                                  "read the Organization?")
        return str(records[0]["Id"])


_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")


def id_literal(value: str) -> str:
    """A Salesforce id as a SOQL string literal (ids are 15 or 18 letters and digits; anything else is refused)."""
    if not _ID.match(value):
        raise SalesforceError(f"{value!r} is not a Salesforce id")
    return f"'{value}'"
