"""Alert deliveries on a background event loop: every alert its own task, so a destination that
hangs holds up nobody else, and the stage's consumer loop never waits on the network.

Each try has ``alert_timeout_seconds``; timeouts, refused connections, 408/425/429 and 5xx are tried
again after :func:`transforms.alert_messages.retry_delay` (``Retry-After`` honoured), up to
``alert_max_attempts``; any other answer, or the last try, ends the alert. Outcomes queue up for
the stage to take (:meth:`Deliveries.take`). A HubSpot task, which has no external key, is searched
for before a retry or a resend creates it (:func:`transforms.alert_messages.hubspot_task_search_request`):
one the lost answer of an earlier try made counts as delivered. A CRM task is assigned to the account's owner, looked up
once per (CRM, account) and kept (a lookup that fails leaves the task unassigned and is tried again
by the next alert).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from schemas.alert_rules import AlertRules, Destination
from streams.settings import Settings
from transforms import alert_messages as messages
from transforms.alerts import Alert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What an alert's delivery came to."""

    alert_id: str
    status: str  # delivered | failed
    attempts: int
    first_try_at: datetime
    last_try_at: datetime
    http_status: int | None
    error: str | None


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value or "")


def _crm_url(settings: Settings, destination: Destination) -> str | None:
    url = str(destination.url) if destination.url else None
    if destination.kind == "salesforce_task":
        return url or settings.salesforce_instance_url
    return url or settings.hubspot_api_url


def owner_lookup(settings: Settings) -> Callable[[Alert, Destination], messages.Request | None]:
    """The call that names the owner of an alert's account, for a CRM task destination (None: no call)."""

    def build(alert: Alert, destination: Destination) -> messages.Request | None:
        base = _crm_url(settings, destination) if destination.kind in ("salesforce_task", "hubspot_task") else None
        if not base:
            return None
        token = settings.salesforce_access_token if destination.kind == "salesforce_task" else settings.hubspot_token
        return messages.owner_request(destination.kind, alert.account_id, base, settings.salesforce_api_version,
                                      _secret(token))

    return build


def task_search(settings: Settings) -> Callable[[Alert, Destination], messages.Request]:
    """The search for a HubSpot task an earlier try of the alert made."""

    def build(alert: Alert, destination: Destination) -> messages.Request:
        url = str(destination.url) if destination.url else settings.hubspot_api_url
        return messages.hubspot_task_search_request(alert, url, _secret(settings.hubspot_token))

    return build


def request_builder(settings: Settings) -> Callable[[Alert, Destination, datetime, str | None], messages.Request]:
    """How an alert becomes a request for its destination's kind (a CRM task: for the account's owner), with the
    CRM settings filled in."""

    def build(alert: Alert, destination: Destination, now: datetime, owner: str | None = None) -> messages.Request:
        url = str(destination.url) if destination.url else None
        if destination.kind == "webhook":
            return messages.webhook_request(alert, url or "", destination.secret or "", int(now.timestamp()))
        if destination.kind == "slack":
            return messages.slack_request(alert, url or "")
        if destination.kind == "salesforce_task":
            instance = url or settings.salesforce_instance_url
            if not instance:
                raise ValueError("salesforce_task needs TOUCHLINE_SALESFORCE_INSTANCE_URL or the destination's url")
            return messages.salesforce_task_request(alert, instance, settings.salesforce_api_version,
                                                    _secret(settings.salesforce_access_token), owner)
        return messages.hubspot_task_request(alert, url or settings.hubspot_api_url, _secret(settings.hubspot_token),
                                             owner)

    return build


class Deliveries:
    """Sends alerts concurrently; ``take`` returns the outcomes that arrived since it was last called."""

    def __init__(self, settings: Settings, rules: AlertRules) -> None:
        self.destinations = rules.destinations()
        self.build = request_builder(settings)
        self.owner_call = owner_lookup(settings)
        self.search_call = task_search(settings)
        #: (destination kind, account id) -> the lookup of its owner (shared by the alerts that wait for it)
        self.owners: dict[tuple[str, str], asyncio.Future[tuple[str | None, bool]]] = {}
        self.timeout = settings.alert_timeout_seconds
        self.max_attempts = max(settings.alert_max_attempts, 1)
        self.retry_seconds = settings.alert_retry_seconds
        self.outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        #: Called on the delivery thread the moment an outcome is known (the stage records it before anything
        #: else happens); the outcome is queued for ``take`` after it.
        self.on_outcome: Callable[[Outcome], None] = lambda outcome: None
        self.loop = asyncio.new_event_loop()
        self._session: aiohttp.ClientSession | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="touchline-alerts", daemon=True)
        self._thread.start()

    def submit(self, alert: Alert, resend: bool = False) -> None:
        """Start delivering ``alert`` (returns at once); ``resend``: an earlier run may have sent it already."""
        asyncio.run_coroutine_threadsafe(self._deliver(alert, resend), self.loop)

    def take(self) -> list[Outcome]:
        """The outcomes that arrived since the last call."""
        taken = []
        while True:
            try:
                taken.append(self.outcomes.get_nowait())
            except queue.Empty:
                return taken

    def close(self) -> None:
        """Stop the loop (deliveries in flight are dropped: the stage's ledger still has them pending)."""
        async def shut() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._session is not None:
                await self._session.close()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    async def _try(self, request: messages.Request) -> tuple[int | None, str | None, str | None]:
        """(status, Retry-After, error) of one try."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(request.method, request.url, data=request.body,
                                             headers=request.headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                await response.read()
                error = None if response.status < 300 else f"HTTP {response.status}"
                return response.status, response.headers.get("Retry-After"), error
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return None, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _find_task(self, alert: Alert, destination: Destination) -> tuple[int | None, str | None, str | None,
                                                                                bool]:
        """(status, Retry-After, error, found) of the search for the HubSpot task an earlier try made."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        request = self.search_call(alert, destination)
        try:
            async with self._session.request(request.method, request.url, data=request.body,
                                             headers=request.headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = await response.read()
                if response.status >= 300:
                    return response.status, response.headers.get("Retry-After"), \
                        f"task search: HTTP {response.status}", False
                return response.status, None, None, messages.hubspot_task_found(alert, json.loads(text))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return None, None, f"task search: {type(exc).__name__}: {exc}" if str(exc) else \
                f"task search: {type(exc).__name__}", False
        except ValueError as exc:
            return 200, None, f"task search: {exc}", False

    async def _look_up(self, request: messages.Request, kind: str) -> tuple[str | None, bool]:
        """(owner id, whether to keep the answer): a 404 is kept (no such record), a failure is not."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(request.method, request.url, headers=request.headers,
                                             timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                text = await response.read()
                if response.status == 404:
                    return None, True
                if response.status >= 300:
                    log.warning("owner lookup %s answered %d", request.url.split("?")[0], response.status)
                    return None, False
                return messages.owner_of(kind, json.loads(text)), True
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            log.warning("owner lookup %s failed: %r", request.url.split("?")[0], exc)
            return None, False

    async def _owner(self, alert: Alert, destination: Destination) -> str | None:
        """The account's owner in the destination's CRM (None for other kinds, or when it cannot be known)."""
        request = self.owner_call(alert, destination)
        if request is None:
            return None
        key = (destination.kind, alert.account_id)
        lookup = self.owners.get(key)
        if lookup is None:
            lookup = self.owners[key] = asyncio.ensure_future(self._look_up(request, destination.kind))
        owner, keep = await asyncio.shield(lookup)
        if not keep and self.owners.get(key) is lookup:
            del self.owners[key]
        return owner

    async def _attempt(self, alert: Alert, destination: Destination, request: messages.Request,
                       look: bool) -> tuple[int | None, str | None, str | None, bool]:
        """(status, Retry-After, error, delivered) of one try; ``look``: search for the HubSpot task first (a
        task found is one an earlier try made, whose answer was lost: delivered, nothing created)."""
        if look:
            status, retry_after, error, found = await self._find_task(alert, destination)
            if found or error is not None:
                return status, retry_after, error, found
        status, retry_after, error = await self._try(request)
        return status, retry_after, error, status is not None and 200 <= status < 300

    async def _deliver(self, alert: Alert, resend: bool = False) -> None:
        destination = self.destinations[alert.destination]
        owner = await self._owner(alert, destination)
        first = None
        status: int | None = None
        error: str | None = None
        attempt = 0
        delivered = False
        while attempt < self.max_attempts:
            attempt += 1
            now = datetime.now(UTC)
            first = first or now
            try:
                request = self.build(alert, destination, now, owner)
            except ValueError as exc:
                status, error = None, str(exc)
                break
            look = destination.kind == "hubspot_task" and (resend or attempt > 1)
            status, retry_after, error, delivered = await self._attempt(alert, destination, request, look)
            if delivered:
                break
            if not messages.should_retry(status) or attempt >= self.max_attempts:
                break
            await asyncio.sleep(messages.retry_delay(attempt, retry_after, self.retry_seconds, datetime.now(UTC)))
        if not delivered:
            log.warning("alert %s to %s failed after %d tries: %s", alert.alert_id, alert.destination, attempt, error)
        outcome = Outcome(alert.alert_id, "delivered" if delivered else "failed", attempt,
                          first or datetime.now(UTC), datetime.now(UTC), status, error)
        try:
            self.on_outcome(outcome)
        finally:
            self.outcomes.put(outcome)
