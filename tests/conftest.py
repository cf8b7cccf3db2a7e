"""Shared factories for tests."""

from __future__ import annotations

from typing import Any

import pytest


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
