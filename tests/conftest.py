"""Shared factories for tests."""

from __future__ import annotations

import os
from typing import Any

import pytest

# Every process the tests start runs as a deployment does: with the key of the suppression list set
# (tests of a missing or wrong key unset or replace it).
os.environ.setdefault("TOUCHLINE_SUPPRESSION_KEY", "touchline-tests-suppression-key")


def touch_payload(**overrides: Any) -> dict[str, Any]:
    """A valid touch/1 payload; keyword arguments replace fields (``None`` removes one)."""
    payload: dict[str, Any] = {
        "event_id": "evt-1",
        "source": "segment:web",
        "event_type": "site_visit",
        "occurred_at": "2026-03-01T09:30:00Z",
        "anonymous_id": "anon-1",
        "channel": "organic_search",
        "team": "marketing",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


@pytest.fixture
def make_payload() -> Any:
    return touch_payload


_counter = iter(range(1, 10**9))


def make_touch(at: str, event_type: str = "site_visit", **fields: Any):
    """A Touch at ``at`` (``YYYY-MM-DD`` or full RFC 3339) with a fresh event id."""
    from datetime import datetime

    from transforms.types import Touch

    when = datetime.fromisoformat(at if "T" in at else at + "T12:00:00+00:00")
    fields.setdefault("account_id", "acme")
    fields.setdefault("event_id", f"t{next(_counter)}")
    fields.setdefault("source", "test")
    fields.setdefault("team", "marketing")
    fields.setdefault("channel", "organic_search")
    return Touch(occurred_at=when, event_type=event_type, **fields)
