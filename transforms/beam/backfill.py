"""Beam transforms around the same pure functions the streaming stages and `touchline stitch` call.

Elements are **batches** (lists of touches), not single touches: the Python SDK's cost per
element and per shuffle dwarfs the work done on one touch, so each step handles thousands.

``ParseTouches`` validates batches of raw lines (dead letters to a tagged output);
``DedupeTouches`` shuffles touches into ``shards`` by ``(source, event_id)`` and keeps the first
of each key; ``ResolveAccounts`` builds the identity graph from the earliest touch of every
distinct identifier set (one global step: the graph is one graph; the same components as from
every touch) and assigns accounts through a side input; ``StitchJourneys`` shuffles by account
and folds each journey with ``transforms.stitching.fold_journey``. The runner's I/O lives in
``streams.backfill``.

EXAMPLES:
    touchline backfill --input 'touches/*.jsonl' --lake lake
    touchline backfill --input touches.jsonl --lake lake --workers 2
    touchline replay --lake lake --dormancy-days 60
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Iterator
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from schemas.touch import TouchEvent, parse_touch, to_touch
from schemas.vocabulary import IDENTITY_EVENTS
from transforms.identity import accounts_by_identity, identity_of
from transforms.settings import JourneySettings
from transforms.stitching import dedupe, fold_journey
from transforms.types import Touch

DEAD_LETTERS = "dead_letters"
SHARDS = 32



def _pickled_once(value: Any, plain: type) -> bytes:
    """``value`` pickled as its plain type, computed on first use and kept on the object."""
    pickled: bytes | None = getattr(value, "_pickled", None)
    if pickled is None:
        pickled = value._pickled = pickle.dumps(plain(value), protocol=pickle.HIGHEST_PROTOCOL)
    return pickled


class Batch(list):  # type: ignore[type-arg]
    """A list of elements that Beam pickles whole, once.

    Beam's default coder encodes a plain list element by element in Python, and its counters
    encode sampled outputs again to estimate their size: for a batch of thousands of touches
    both cost more than the work. A batch is pickled in one call and keeps the bytes, so
    every later encoding of the same (never mutated) batch is a copy.
    """

    __slots__ = ("_pickled",)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return _unpickle_batch, (_pickled_once(self, list),)


def _unpickle_batch(pickled: bytes) -> Batch:
    return Batch(pickle.loads(pickled))


class Identities(dict):  # type: ignore[type-arg]
    """A dict that Beam pickles whole, once (see :class:`Batch`)."""

    __slots__ = ("_pickled",)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return _unpickle_identities, (_pickled_once(self, dict),)


def _unpickle_identities(pickled: bytes) -> Identities:
    return Identities(pickle.loads(pickled))


def shard_of(text: str, shards: int) -> int:
    """A stable shard for a key, the same in every worker process (unlike ``hash``)."""
    return zlib.crc32(text.encode()) % shards


class _Parse(beam.DoFn):
    def process(self, batch: tuple[str, list[bytes]]) -> Iterator[Any]:
        name, lines = batch
        touches, dead = [], []
        for line in lines:
            raw = line if isinstance(line, bytes) else line.encode()
            if not raw.strip():
                continue
            event = parse_touch(raw)
            if isinstance(event, TouchEvent):
                touches.append(to_touch(event))
            else:
                dead.append({"reason": "; ".join(str(e) for e in event),
                             "raw_text": raw.decode("utf-8", errors="replace")})
        if touches:
            yield Batch(touches)
        if dead:
            yield pvalue.TaggedOutput(DEAD_LETTERS, (name, Batch(dead)))


class ParseTouches(beam.PTransform):
    """(name, raw JSON lines) batches → lists of Touch; rejects to ``dead_letters`` as (name, dicts)."""

    def expand(self, batches: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return batches | "Validate" >> beam.ParDo(_Parse()).with_outputs(DEAD_LETTERS, main="touches")


def _split(touches: list[Touch], key_of: Any, shards: int) -> Iterator[tuple[int, list[Any]]]:
    parts: dict[int, Batch] = {}
    for item in touches:
        parts.setdefault(shard_of(key_of(item), shards), Batch()).append(item)
    yield from parts.items()


def _flatten(pair: tuple[int, Iterable[list[Any]]]) -> tuple[int, list[Any]]:
    shard, parts = pair
    return shard, Batch(item for part in parts for item in part)


def _keep_first(pair: tuple[int, Iterable[list[Touch]]]) -> tuple[int, list[Touch]]:
    shard, touches = _flatten(pair)
    touches.sort(key=lambda t: t.order)  # the shuffle's order is arbitrary; event time is not
    return shard, Batch(dedupe(touches))


class DedupeTouches(beam.PTransform):
    """Lists of Touch → (shard, the shard's touches, one per ``(source, event_id)``)."""

    def __init__(self, shards: int = SHARDS) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        shards = self.shards
        return (batches
                | "ShardByEvent" >> beam.FlatMap(_split, lambda t: f"{t.source}|{t.event_id}", shards)
                | "GroupByShard" >> beam.GroupByKey()
                | "KeepFirst" >> beam.Map(_keep_first))


def _keep_earliest(pairs: Iterable[tuple[tuple[str | None, ...], Touch]]) -> Identities:
    """The earliest touch of each identifier set among ``(identity, touch)`` pairs."""
    earliest = Identities()
    for identity, touch in pairs:
        known = earliest.get(identity)
        if known is None or touch.order < known.order:
            earliest[identity] = touch
    return earliest


class _Earliest(beam.CombineFn):
    """The earliest touch of each distinct identifier set, across every shard."""

    def create_accumulator(self) -> Identities:
        return Identities()

    def add_input(self, accumulator: Identities, touches: list[Touch]) -> Identities:
        return _keep_earliest(chain(accumulator.items(), ((identity_of(t), t) for t in touches)))

    def merge_accumulators(self, accumulators: Iterable[Identities]) -> Identities:
        return _keep_earliest(chain.from_iterable(a.items() for a in accumulators))

    def extract_output(self, accumulator: Identities) -> Identities:
        return Identities(accounts_by_identity(accumulator.values()))


def _assign(shard_touches: tuple[int, list[Touch]], accounts: dict[Any, str]) -> Batch:
    return Batch((accounts[identity], touch) for touch in shard_touches[1]
                 if touch.event_type not in IDENTITY_EVENTS and (identity := identity_of(touch)) in accounts)


class ResolveAccounts(beam.PTransform):
    """(shard, touches) → lists of (account_id, Touch) for the touches an identifier ties to an account."""

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        accounts = (shards
                    | "TouchesOnly" >> beam.Map(itemgetter(1))
                    | "BuildGraph" >> beam.CombineGlobally(_Earliest()))
        return shards | "AssignAccount" >> beam.Map(_assign, accounts=pvalue.AsSingleton(accounts))


def _fold_shard(pair: tuple[int, Iterable[list[tuple[str, Touch]]]],
                settings: JourneySettings) -> tuple[str, Batch]:
    shard, resolved = _flatten(pair)
    resolved.sort(key=lambda item: (item[0], item[1].order))
    rows = Batch()
    for account_id, pairs in groupby(resolved, key=itemgetter(0)):
        rows += [row.to_row() for row in fold_journey(account_id, (t for _, t in pairs), settings)[1]]
    return f"{shard:04d}", rows


class StitchJourneys(beam.PTransform):
    """Lists of (account_id, Touch) → (shard name, journey rows), folded per account in event-time order."""

    def __init__(self, settings: JourneySettings, shards: int = SHARDS) -> None:
        super().__init__()
        self.settings = settings
        self.shards = shards

    def expand(self, resolved: beam.PCollection) -> beam.PCollection:
        settings, shards = self.settings, self.shards
        return (resolved
                | "ShardByAccount" >> beam.FlatMap(_split, itemgetter(0), shards)
                | "GroupByAccountShard" >> beam.GroupByKey()
                | "FoldJourneys" >> beam.Map(_fold_shard, settings))
