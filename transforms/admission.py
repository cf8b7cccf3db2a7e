"""Admission: how a validated touch enters the core, one rule for the stream and the batch runners.

Its e-mail is pseudonymized first (with a salt), so no state, identity link or output ever holds
the address; then a repeat of a ``(source, event_id)`` already admitted is dropped: the first copy
counts. The resolve stage admits with a windowed memory of keys in its state store; ``touchline
stitch`` and :func:`dedupe` with :class:`AllKeys`. Beam's backfill does the same to whole Arrow
columns (``transforms.beam.backfill.ParseTouches``, then ``first_of_each_event``), and the
stream/batch/backfill equality tests hold the three to one result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from transforms.privacy import pseudonymize_email
from transforms.types import Touch, ValidatedTouch, to_touch

Key = tuple[str, str]  # (source, event_id)


class Keys(Protocol):
    """The admitted touches' keys a runner remembers."""

    def add(self, key: Key, occurred_at: datetime) -> bool:
        """Remember ``key``; whether it was new."""


class AllKeys:
    """Every key of a batch run (the stream keeps a window of event time instead: ``streams.state.RecentKeys``)."""

    def __init__(self) -> None:
        self.keys: set[Key] = set()

    def add(self, key: Key, occurred_at: datetime) -> bool:
        """Remember ``key``; whether it was new."""
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


def admit(event: ValidatedTouch, salt: str | None, seen: Keys) -> Touch | None:
    """The core's touch of a validated event, its e-mail pseudonymized; None if its key was admitted before."""
    touch = to_touch(event)
    if salt and touch.email:
        touch = touch._replace(email=pseudonymize_email(touch.email, salt))
    return touch if seen.add(touch.key, touch.occurred_at) else None


def dedupe(touches: Iterable[Touch]) -> list[Touch]:
    """The first touch of each ``(source, event_id)`` (a whole batch at once: no call per touch)."""
    first: dict[Key, Touch] = {}
    for touch in touches:
        first.setdefault(touch.key, touch)
    return list(first.values())
