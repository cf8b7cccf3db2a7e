"""Beam transforms around the same pure functions the streaming stages and `touchline stitch` call.

Elements are **batches**, not single touches: the Python SDK's cost per element and per
shuffle dwarfs the work done on one touch. A batch of touches is an Arrow table in the lake's
``touches`` schema, passed between stages as Arrow IPC bytes (``batches.columns``).

``ParseTouches`` validates batches of raw lines with ``parse_touch`` (touches and dead letters as
two collections); ``DedupeTouches`` shuffles touches into ``shards`` by ``(source, event_id)`` and keeps
the best copy of each key (``transforms.admission``'s rule), in event-time order;
``ResolveAccounts`` builds the identity graph from
the earliest touch of every distinct identifier set (one global step: the graph is one graph;
the same components as from every touch) and joins it to every shard to assign accounts;
``StitchJourneys`` shuffles by account and folds each journey with
``transforms.stitching.fold_journey`` into rows of the lake's ``journey_touches`` schema, and
judges each account's leads with ``transforms.lead_sla`` on the clock of all the touches (joined to
every account shard, as the batch runner's one clock). The runner's I/O lives in ``streams.runtime.beam_runner``.

The pipeline is portable, not only correct on the DirectRunner: every step has one output (a step
that emits two kinds of element tags them and two steps select a kind: Beam's DaskRunner hands every
consumer of a multi-output ParDo all of its outputs), and what every shard needs (the identity graph,
the clock) reaches it through a join, not a side input (the DaskRunner recomputes a side input's whole
upstream in every task that reads it).

EXAMPLES:
    touchline backfill --input 'touches/*.jsonl' --lake lake
    touchline backfill --input touches.jsonl --lake lake --workers 2
    touchline replay --lake lake --dormancy-days 60
    python -m transforms.beam --input 'gs://bucket/touches/*.jsonl' --lake /mnt/lake --runner FlinkRunner
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.transforms.combiners import ToListCombineFn

from batches.columns import (
    best_of_each_event,
    first_rows,
    in_event_order,
    map_distinct,
    pack,
    split,
    times,
    touches_table,
    unpack,
    unpack_all,
)
from batches.privacy import pseudonymize_table
from schemas.channel_rules import ChannelRules
from schemas.channels import use_channel_rules
from schemas.touch import TouchEvent, parse_touch
from schemas.vocabulary import IDENTITY_EVENTS
from transforms.event_clock import AccountClock
from transforms.gc_pause import paused_gc
from transforms.identity import IDENTITY_FIELDS, accounts_by_identity
from transforms.lead_sla import Breach, judge_all
from transforms.settings import JourneySettings
from transforms.stitching import fold_journey
from transforms.types import JourneyTouch, Touch

TOUCHES = "touches"
DEAD_LETTERS = "dead_letters"
JOURNEYS = "journeys"
BREACHES = "breaches"
#: what identity resolution reads of a touch: its identifiers and its place in event-time order.
IDENTITY_COLUMNS = [*IDENTITY_FIELDS, "occurred_at", "event_type", "source", "event_id"]
SHARDS = 32
ACCOUNT = "_account"  # the resolved account, a column the fold reads and drops


def _of_kind(tagged: tuple[str, Any], kind: str) -> list[Any]:
    """The element of a ``(kind, element)`` pair when it is of ``kind``: one output of a step that emits two."""
    return [tagged[1]] if tagged[0] == kind else []


def _to_every_shard(value: Any, shards: int) -> list[tuple[int, Any]]:
    """``value`` keyed by every shard: what a join gives each shard of a global result."""
    return [(shard, value) for shard in range(shards)]


def _all(label: str) -> beam.PTransform:
    """Every element of a collection as one list, and nothing for no element (no default to inject: a
    default is a side input)."""
    return label >> beam.CombineGlobally(ToListCombineFn()).without_defaults()


def _joined(sides: Mapping[str, list[Any]], side: str, shard: int) -> Any:
    """The one value a join gave a shard from ``side``."""
    if len(sides[side]) != 1:
        raise ValueError(f"shard {shard} got {len(sides[side])} {side}: the input is not keyed by shards of this count")
    return sides[side][0]


def shard_of(text: str, shards: int) -> int:
    """A stable shard for a key, the same in every worker process (unlike ``hash``)."""
    return zlib.crc32(text.encode()) % shards


class _Parse(beam.DoFn):
    def __init__(self, schema: pa.Schema, salt: str | None, rules: ChannelRules | None = None) -> None:
        self.schema, self.salt, self.rules = schema, salt, rules

    def setup(self) -> None:
        """A worker process validates channels by the rules the pipeline was given (its parent's)."""
        if self.rules is not None:
            use_channel_rules(self.rules)

    @paused_gc()
    def process(self, batch: tuple[str, list[bytes]]) -> list[Any]:
        name, lines = batch
        events, dead = [], []
        for line in lines:
            raw = line if isinstance(line, bytes) else line.encode()
            if not raw.strip():
                continue
            event = parse_touch(raw)
            if isinstance(event, TouchEvent):
                events.append(event)
            else:
                dead.append({"reason": "; ".join(str(e) for e in event),
                             "raw_text": raw.decode("utf-8", errors="replace")})
        outputs: list[tuple[str, Any]] = []
        if events:
            outputs.append((TOUCHES, pack(pseudonymize_table(touches_table(events, self.schema), self.salt))))
        if dead:
            outputs.append((DEAD_LETTERS, (name, dead)))
        return outputs


class Parsed(NamedTuple):
    """What ``ParseTouches`` gives: packed ``touches`` tables, and dead letters as (batch name, dicts)."""

    touches: beam.PCollection
    dead_letters: beam.PCollection


class ParseTouches(beam.PTransform):
    """(name, raw JSON lines) → :class:`Parsed`: packed ``touches`` tables and rejects as (name, dicts).

    With a ``salt``, e-mails are pseudonymized before anything downstream sees them, as the
    streaming resolve stage does. With ``rules``, channels are valid as those channel rules declare them.
    """

    def __init__(self, schema: pa.Schema, salt: str | None = None, rules: ChannelRules | None = None) -> None:
        super().__init__()
        self.schema, self.salt, self.rules = schema, salt, rules

    def expand(self, batches: beam.PCollection):  # -> Parsed (Beam warns of any hint but a PCollection)
        """The transform applied to its input (see the class)."""
        parsed = batches | "Validate" >> beam.ParDo(_Parse(self.schema, self.salt, self.rules))
        return Parsed(parsed | "Touches" >> beam.FlatMap(_of_kind, TOUCHES),
                      parsed | "DeadLetters" >> beam.FlatMap(_of_kind, DEAD_LETTERS))


@paused_gc()
def _by_event(packed: bytes, shards: int) -> list[tuple[int, bytes]]:
    table = unpack(packed)
    keys = [shard_of(f"{s}|{e}", shards) for s, e in zip(table["source"].to_pylist(),
                                                          table["event_id"].to_pylist(), strict=True)]
    return [(shard, pack(part)) for shard, part in split(table, keys)]


@paused_gc()
def _keep_best(pair: tuple[int, Iterable[bytes]]) -> tuple[int, bytes]:
    shard, parts = pair
    return shard, pack(best_of_each_event(unpack_all(parts)))


class DedupeTouches(beam.PTransform):
    """Packed touches → (shard, the shard's touches in event-time order, the best copy of each
    ``(source, event_id)``)."""

    def __init__(self, shards: int = SHARDS) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        """The transform applied to its input (see the class)."""
        return (batches
                | "ShardByEvent" >> beam.FlatMap(_by_event, self.shards)
                | "GroupByShard" >> beam.GroupByKey()
                | "KeepBest" >> beam.Map(_keep_best))


@paused_gc()
def _first_of_each_identity(shard_touches: tuple[int, bytes]) -> bytes:
    """The first row of each distinct identifier set of a shard (in event-time order), what identity needs of it."""
    return pack(first_rows(unpack(shard_touches[1]).select(IDENTITY_COLUMNS), IDENTITY_FIELDS))


def _join_keys(table: pa.Table) -> pa.Table:
    """A table's identifier sets as join columns: each identifier with null read as '', beside a mask of which
    were null (a join matches no null, and '' alone would make two sets one)."""
    nulls = pa.array(np.zeros(table.num_rows, np.int64))
    for bit, name in enumerate(IDENTITY_FIELDS):
        nulls = pc.add(nulls, pc.multiply(pc.cast(pc.is_null(table[name].combine_chunks()), pa.int64()), 1 << bit))
    return pa.table({**{f"_key_{name}": pc.fill_null(table[name].combine_chunks(), "") for name in IDENTITY_FIELDS},
                     "_key_nulls": nulls})


JOIN_KEYS = [*(f"_key_{name}" for name in IDENTITY_FIELDS), "_key_nulls"]


@paused_gc()
def _accounts(parts: list[bytes]) -> bytes:
    """The surviving account of each identifier set, from the earliest touch of each across all shards, as a
    packed table of join keys and ``_account``: every shard gets all of it, and Arrow's join reads it in place."""
    found: dict[tuple[str | None, ...], str] = {}
    if parts:
        rows = first_rows(in_event_order(unpack_all(parts)), IDENTITY_FIELDS)
        earliest = map(Touch, rows["event_id"].to_pylist(), rows["source"].to_pylist(), rows["event_type"].to_pylist(),
                       times(rows["occurred_at"]), *(rows[name].to_pylist() for name in IDENTITY_FIELDS))
        found = accounts_by_identity(earliest)
    sets = pa.table({name: pa.array([identity[index] for identity in found], pa.string())
                     for index, name in enumerate(IDENTITY_FIELDS)})
    return pack(_join_keys(sets).append_column(ACCOUNT, pa.array(list(found.values()), pa.string())))


@paused_gc()
def _assign(shard_touches: tuple[int, bytes], accounts: bytes, shards: int,
            erased: Mapping[tuple[str, str], str]) -> list[tuple[int, bytes]]:
    """A shard's journey touches with their accounts (``accounts``: :func:`_accounts`), split by the account's
    shard."""
    table = unpack(shard_touches[1])
    keys = _join_keys(table).append_column("_row", pa.array(np.arange(table.num_rows)))
    joined = keys.join(unpack(accounts), keys=JOIN_KEYS, join_type="left outer", use_threads=False).sort_by("_row")
    assigned = [None if kind in IDENTITY_EVENTS else account
                for kind, account in zip(table["event_type"].to_pylist(), joined[ACCOUNT].to_pylist(), strict=True)]
    if erased:
        touch_keys = zip(table["source"].to_pylist(), table["event_id"].to_pylist(), strict=True)
        assigned = [account or erased.get(key) for account, key in zip(assigned, touch_keys, strict=True)]
    table = table.append_column(ACCOUNT, pa.array(assigned, pa.string()))
    table = table.filter(pc.is_valid(table[ACCOUNT]))
    return [(shard, pack(part)) for shard, part in split(table, shards_of(table[ACCOUNT], shards))]


def shards_of(keys: pa.ChunkedArray, shards: int) -> pa.Array:
    """:func:`shard_of` each key, computed once per distinct key."""
    return map_distinct(keys, lambda key: shard_of(key, shards), pa.int64())


@paused_gc()
def _assign_joined(joined: tuple[int, Mapping[str, list[Any]]], shards: int,
                   erased: Mapping[tuple[str, str], str]) -> list[tuple[int, bytes]]:
    """:func:`_assign` a shard's touches, joined to the identity graph."""
    shard, sides = joined
    if not sides["touches"]:
        return []
    accounts = _joined(sides, "accounts", shard)
    return [part for touches in sides["touches"] for part in _assign((shard, touches), accounts, shards, erased)]


class ResolveAccounts(beam.PTransform):
    """(shard, touches) → (account shard, touches with their ``_account``), identity calls and strangers dropped.

    The input is keyed by shards in ``range(shards)`` (``DedupeTouches``'s); the output by account shards
    of the same count.

    ``erased`` maps ``(source, event_id)`` to the account of each touch whose identifiers
    ``touchline forget`` erased: identity can no longer place those, so they stay where they were.
    """

    def __init__(self, shards: int = SHARDS, erased: Mapping[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.shards = shards
        self.erased = dict(erased or {})

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        """The transform applied to its input (see the class)."""
        accounts = (shards
                    | "IdentitySets" >> beam.Map(_first_of_each_identity)
                    | _all("AllIdentitySets")
                    | "BuildGraph" >> beam.Map(_accounts)
                    | "GraphToEveryShard" >> beam.FlatMap(_to_every_shard, self.shards))
        return ({"touches": shards, "accounts": accounts}
                | "JoinGraph" >> beam.CoGroupByKey()
                | "AssignAccount" >> beam.FlatMap(_assign_joined, self.shards, self.erased))


#: journey_touches columns the fold computes: JourneyTouch's fields; every other column is the touch's own.
FOLDED = frozenset(JourneyTouch._fields) - {"touch"}
OWN = {"touch_account_id": "account_id"}  # journey column -> touches column, where the names differ


def _for_the_fold(event_id: str, source: str, event_type: str, occurred_at: datetime, team: str | None) -> Touch:
    """What ``step`` reads of a touch; the rest of its row stays in Arrow."""
    return Touch(event_id, source, event_type, occurred_at, team=team)


def journey_table(touches: pa.Table, settings: JourneySettings, schema: pa.Schema,
                  clock: datetime | None = None) -> tuple[pa.Table, list[Breach]]:
    """Fold each account's touches (sorted by account, then event time) into ``journey_touches`` rows, row for
    row, and judge its leads on the accounts' ``clock`` (the lead SLA's breaches)."""
    if not touches.num_rows:
        return schema.empty_table(), []
    light = map(_for_the_fold, touches["event_id"].to_pylist(), touches["source"].to_pylist(),
                touches["event_type"].to_pylist(), times(touches["occurred_at"]), touches["team"].to_pylist())
    rows: list[JourneyTouch] = []
    breaches: list[Breach] = []
    for account_id, group in groupby(zip(touches[ACCOUNT].to_pylist(), light, strict=True), key=itemgetter(0)):
        folded = fold_journey(account_id, map(itemgetter(1), group), settings)
        rows += folded.rows
        breaches += judge_all(folded.leads, account_id, clock, settings)
    folded_columns = dict(zip(JourneyTouch._fields, zip(*rows, strict=True), strict=True))
    table = pa.Table.from_arrays(
        [pa.array(folded_columns[f.name], f.type) if f.name in FOLDED else touches[OWN.get(f.name, f.name)]
         for f in schema], schema=schema)
    return table, breaches


@paused_gc()
def _fold_shard(joined: tuple[int, Mapping[str, list[Any]]], settings: JourneySettings, schema: pa.Schema,
                breach_schema: pa.Schema) -> list[tuple[str, bytes]]:
    """An account shard's journeys and (tagged ``breaches``) its leads' breaches, on the joined clock."""
    shard, sides = joined
    if not sides["touches"]:
        return []
    clock = _joined(sides, "clock", shard)
    table, breaches = journey_table(in_event_order(unpack_all(sides["touches"]), ACCOUNT), settings, schema, clock)
    outputs = [(JOURNEYS, pack(table))]
    if breaches:
        rows = pa.Table.from_pylist([breach.columns() for breach in breaches], schema=breach_schema)
        outputs.append((BREACHES, pack(rows)))
    return outputs


@paused_gc()
def _newest_accounts(pair: tuple[int, bytes]) -> list[tuple[datetime, str]]:
    """The accounts of a batch that could set the accounts' clock: its newest times, one per account."""
    table = unpack(pair[1])
    return AccountClock(zip(times(table["occurred_at"]), table[ACCOUNT].to_pylist(), strict=True)).newest


def _clock_time(newest: Iterable[tuple[datetime, str]]) -> datetime | None:
    return AccountClock(newest).time


class Stitched(NamedTuple):
    """What ``StitchJourneys`` gives: packed ``journey_touches`` tables and packed ``sla_breaches`` tables."""

    journeys: beam.PCollection
    breaches: beam.PCollection


class StitchJourneys(beam.PTransform):
    """(account shard, touches) → :class:`Stitched`: journeys folded per account in event-time order, and the
    breaches of their leads judged on the clock of all the touches. The input is keyed by account shards in
    ``range(shards)`` (``ResolveAccounts``'s)."""

    def __init__(self, settings: JourneySettings, schema: pa.Schema, breach_schema: pa.Schema,
                 shards: int = SHARDS) -> None:
        super().__init__()
        self.settings = settings
        self.schema = schema
        self.breach_schema = breach_schema
        self.shards = shards

    def expand(self, resolved: beam.PCollection):  # -> Stitched (Beam warns of any hint but a PCollection)
        """The transform applied to its input (see the class)."""
        clock = (resolved
                 | "NewestAccounts" >> beam.FlatMap(_newest_accounts)
                 | _all("AllNewestAccounts")
                 | "AccountClock" >> beam.Map(_clock_time)
                 | "ClockToEveryShard" >> beam.FlatMap(_to_every_shard, self.shards))
        folded = ({"touches": resolved, "clock": clock}
                  | "GroupByAccountShard" >> beam.CoGroupByKey()
                  | "FoldJourneys" >> beam.FlatMap(_fold_shard, self.settings, self.schema, self.breach_schema))
        return Stitched(folded | "Journeys" >> beam.FlatMap(_of_kind, JOURNEYS),
                        folded | "Breaches" >> beam.FlatMap(_of_kind, BREACHES))
