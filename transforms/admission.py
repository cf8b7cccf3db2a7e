"""Admission: how a validated touch enters the core, one rule for the stream and the batch runners.

Its e-mail, and every address in its free-form fields (``properties``, ``utm``, ``disposition_note``: a
page URL's ``?e=ann%40…``, a form's answers), is pseudonymized first (with a salt), so no state, identity
link or output ever holds the address. Then one copy of each ``(source, event_id)`` is the touch, chosen by
:func:`copy_order`, whatever order the copies come in:

1. the copy **received first** (``received_at``; a copy without one comes after every copy with one);
2. then the **earliest event time**;
3. then the least **content digest** (:func:`content_digest`: 8 bytes of a hash of the content, every
   field but the two times), which the stream remembers beside the times, so copies alike in both times
   (a CRM exported twice says nothing of receipt) are chosen alike by every runner in any order;
4. then the least content, field by field in touch/1's order (:data:`CONTENT_FIELDS`; a missing
   value after any value), so the choice is total even where two digests collide.

Why received first: a tracking library that retries a batch sends the same ``messageId`` again
with a new ``sentAt``, so the clock correction gives the retry another event time; the copy that
reached the collector first is the original. Segment keeps the first message it receives for a
``messageId``, and Snowplow's models keep the earliest collector time for an ``event_id``: both
choose by arrival, and arrival is recorded on the copy, so the choice does not depend on the order
a file or a topic holds the copies in.

The batch runners take the best copy of each key (:func:`dedupe`; Beam's backfill sorts its
shards by the same columns, ``transforms.beam.backfill``). The stream remembers, for each key, the
arrival rank (steps 1 to 3) of the copy it admitted (``streams.runtime.state.RecentKeys``; the pure
runner, :class:`AllCopies` without ``by_content``): a later copy that ranks better is admitted
too and replaces the first on its
journey, re-placed as a late touch is, and the lake drops the first copy's rows (:func:`withdrawal`: a row
is found by its key and its event date, and the copies' event times may lie on different days); a copy
that ranks no better is dropped. Only copies whose digests collide as well are left to step 4,
which the stream cannot take (it keeps no content): ``touchline replay`` re-stitches the lake by the
batch rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol

from schemas.touch import TouchEvent
from transforms.privacy import FREE_FORM_FIELDS, pseudonymize_email, pseudonymize_free_form
from transforms.types import CORE_FIELDS, Touch, ValidatedTouch, iso, to_touch

Key = tuple[str, str]  # (source, event_id)
Arrival = tuple[datetime, datetime, bytes]  # (received, or never; event time; content digest)

NEVER = datetime.max.replace(tzinfo=UTC)  # the receipt time of a copy that carries none
#: What step 3 of :func:`copy_order` compares, in touch/1's order: every field but the two times.
CONTENT_FIELDS = tuple(name for name in TouchEvent.model_fields if name not in ("received_at", "occurred_at"))
CORE_NAMES = frozenset(CORE_FIELDS)


class Offer(Enum):
    """What a runner's memory says of a copy of a touch."""

    NEW = "new"  # the first copy of its key
    BETTER = "better"  # ranks before the copy admitted: it takes that copy's place
    SEEN = "seen"  # ranks no better than the copy admitted: dropped


def received_at(touch: Touch) -> datetime | None:
    """When a collector received the copy (touch/1's ``received_at``), if it says."""
    value = touch.extra.get("received_at")
    if value is None:
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def arrival(touch: Touch) -> Arrival:
    """Steps 1 to 3 of :func:`copy_order`: what the stream remembers of a copy."""
    return (received_at(touch) or NEVER, touch.occurred_at, content_digest(touch))


def json_text(value: Any) -> str:
    """A JSON object as the lake stores it: keys sorted (``batches.columns`` writes the same)."""
    return json.dumps(value, sort_keys=True, allow_nan=False)


def content_values(touch: Touch) -> list[Any]:
    """A copy's content as the lake stores it (JSON objects as their text), in :data:`CONTENT_FIELDS` order."""
    extra = touch.extra  # as touch.to_wire() has them, without building it: an extra field before a core one
    values = (extra[name] if name in extra else getattr(touch, name) if name in CORE_NAMES else None
              for name in CONTENT_FIELDS)
    return [json_text(value) if isinstance(value, dict) else value for value in values]


def digest_of(values: Sequence[Any]) -> bytes:
    """Step 3 of :func:`copy_order` over content values (:func:`content_values`; a lake row's the same)."""
    return hashlib.blake2b(json.dumps(list(values)).encode(), digest_size=8).digest()


def content_digest(touch: Touch) -> bytes:
    """Step 3 of :func:`copy_order`: 8 bytes of a hash of the copy's content."""
    return digest_of(content_values(touch))


def copy_order(touch: Touch) -> tuple[Any, ...]:
    """Where a copy of a touch ranks among the copies of its key: the least one is the touch."""
    # a missing value after any value, where Arrow sorts nulls
    content = [(True, "") if value is None else (False, value) for value in content_values(touch)]
    return (*arrival(touch), *content)


class Copies(Protocol):
    """The admitted copies a runner remembers, by key."""

    #: The event time of the copy the last offer displaced (an offer that was not :attr:`Offer.BETTER`: None).
    replaced: datetime | None

    def offer(self, touch: Touch) -> Offer:
        """Whether ``touch`` is its key's first copy, a better one than the copy admitted, or neither."""


class AllCopies:
    """Every key's admitted copy, for a runner that sees one batch (the stream keeps a window of event time
    instead: ``streams.runtime.state.RecentKeys``). ``by_content``: break a tie of arrival ranks by content, as the
    batch rule does; without it the first copy to arrive stays, as in the stream."""

    def __init__(self, by_content: bool = True) -> None:
        self.by_content = by_content
        self.held: dict[Key, tuple[Arrival, Touch]] = {}
        self.replaced: datetime | None = None

    def offer(self, touch: Touch) -> Offer:
        """Whether ``touch`` is its key's first copy, a better one than the copy admitted, or neither."""
        rank = arrival(touch)
        held = self.held.get(touch.key)
        self.replaced = None
        if held is None:
            self.held[touch.key] = (rank, touch)
            return Offer.NEW
        if rank < held[0] or (rank == held[0] and self.by_content and copy_order(touch) < copy_order(held[1])):
            self.held[touch.key] = (rank, touch)
            self.replaced = held[0][1]
            return Offer.BETTER
        return Offer.SEEN


def admit(event: ValidatedTouch, salt: str | None, seen: Copies) -> Touch | None:
    """The core's touch of a validated event, the addresses in it pseudonymized; None if it ranks no better than
    the copy of its key admitted before."""
    touch = to_touch(event)
    if salt and touch.email:
        touch = touch._replace(email=pseudonymize_email(touch.email, salt))
    if salt and any(touch.extra.get(name) is not None for name in FREE_FORM_FIELDS):
        touch = touch._replace(extra={**touch.extra, **{name: pseudonymize_free_form(touch.extra[name], salt)
                                                        for name in FREE_FORM_FIELDS
                                                        if touch.extra.get(name) is not None}})
    return None if seen.offer(touch) is Offer.SEEN else touch


def withdrawal(key: Key, occurred_at: datetime) -> dict[str, Any]:
    """The record that takes a replaced copy's row out of a table keyed by ``(source, event_id)``: the key at
    the replaced copy's event time (the lake's rows are partitioned by its date), marked ``retracted``."""
    return {"source": key[0], "event_id": key[1], "occurred_at": iso(occurred_at), "retracted": True}


def dedupe(touches: Iterable[Touch]) -> list[Touch]:
    """The best copy (:func:`copy_order`) of each ``(source, event_id)``, in the order keys first appear
    (a whole batch at once: copies are ranked only where a key repeats)."""
    best: dict[Key, Touch] = {}
    for touch in touches:
        held = best.setdefault(touch.key, touch)
        if held is not touch and copy_order(touch) < copy_order(held):
            best[touch.key] = touch
    return list(best.values())
