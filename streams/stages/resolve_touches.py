"""``validate_touches`` and ``resolve_identity``: raw records in, account-keyed touches out.

One stage on the single partition of ``touches-raw-v1``, because the identity graph is one
graph: validate (bad records to the dead-letter topic with their reason and bytes), drop
copies of a ``(source, event_id)`` that rank no better than the one admitted
(:mod:`transforms.admission`: a better copy is admitted and replaces it downstream), archive
the touch on ``touches-valid-v1`` (after the withdrawal of the copy it replaces, if any), link its
identifiers, and send every touch that now resolves (including retroactively released
anonymous ones) to ``touches-by-account-v1`` keyed by account.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.touch import TouchEvent, parse_touch
from streams import topics
from streams.runtime import state_codecs as codecs
from streams.runtime.processor import Emit
from streams.runtime.records import Record, dead_letter, dumps, touch_key
from streams.runtime.state import DEDUPE_WINDOW, RecentKeys, StateStore
from transforms.admission import admit, withdrawal
from transforms.identity import IdentityGraph, Resolver
from transforms.settings import JourneySettings


class ResolveTouches:
    """Stage state, in the partition's store: the recent touch keys and the identity graph with its waiting touches."""

    name = "resolve-touches"
    source = topics.TOUCHES_RAW

    def __init__(self, settings: JourneySettings, salt: str | None = None,
                 dedupe_window: timedelta = DEDUPE_WINDOW) -> None:
        self.settings = settings
        self.dedupe_window = dedupe_window
        self.salt = salt  # admission pseudonymizes e-mails before state or any output sees them
        self.invalid = 0

    def open(self, partition: int, store: StateStore) -> None:
        self.seen = RecentKeys(store, "seen", self.dedupe_window)
        graph = IdentityGraph(store.table("roots"), store.table("components", codecs.COMPONENT))
        self.resolver = Resolver(self.settings, graph, store.table("pending", codecs.WAITING))

    def close(self, partition: int) -> None:
        del self.seen, self.resolver

    def save(self, partition: int) -> None:
        """Everything lives in the store's tables."""

    def apply(self, partition: int, record: Record, emit: Emit) -> None:
        raw = record.value
        event = parse_touch(raw)
        if not isinstance(event, TouchEvent):
            self.invalid += 1
            emit(topics.TOUCHES_DLQ, *dead_letter(raw, event, record.topic, partition, record.offset,
                                                  record.timestamp_ms))
            return
        touch = admit(event, self.salt, self.seen)
        if touch is None:
            return
        resolution = self.resolver.add(touch)
        if self.seen.replaced is not None:  # the lake keeps one copy: the replaced one's row goes
            emit(topics.TOUCHES_VALID, touch_key(*touch.key), dumps(withdrawal(touch.key, self.seen.replaced)))
        emit(topics.TOUCHES_VALID, touch_key(*touch.key), dumps(touch.to_wire()))
        for merge in resolution.merges:
            emit(topics.IDENTITY_MERGES, merge.event_id.encode(), dumps(merge.to_row()))
        for account_id, resolved in resolution.resolved:
            emit(topics.TOUCHES_BY_ACCOUNT, account_id.encode(),
                 dumps({"account_id": account_id, "touch": resolved.to_wire()}))
