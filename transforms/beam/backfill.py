"""Beam transforms around the same pure functions the streaming stages call.

``ParseTouches`` validates raw lines (dead letters to a tagged output), ``DedupeTouches``
keeps one touch per ``(source, event_id)``, ``ResolveAccounts`` builds the identity graph from
every touch's identifiers (one global step: the graph is one graph) and hands it to the
touches as a side input, and ``StitchJourneys`` groups by account and folds each journey with
``transforms.stitching.fold_journey``. The runner's I/O lives in ``streams.backfill``.

EXAMPLES:
    touchline backfill --input 'touches/*.jsonl' --lake lake
    touchline backfill --input lake/touches --lake lake --workers 2
    python -m streams.backfill --input touches.jsonl --lake lake --runner DirectRunner
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from schemas.touch import TouchEvent, parse_touch
from schemas.vocabulary import IDENTITY_EVENTS
from transforms.identity import IdentityGraph, identity_nodes, identity_of
from transforms.settings import JourneySettings
from transforms.stitching import fold_journey
from transforms.types import Touch

DEAD_LETTERS = "dead_letters"


class _Parse(beam.DoFn):
    def process(self, line: str | bytes) -> Iterator[Any]:
        raw = line if isinstance(line, bytes) else line.encode()
        if not raw.strip():
            return
        event = parse_touch(raw)
        if isinstance(event, TouchEvent):
            yield event.to_wire()
        else:
            yield pvalue.TaggedOutput(DEAD_LETTERS, {"reason": "; ".join(str(e) for e in event),
                                                     "raw_text": raw.decode("utf-8", errors="replace")})


class ParseTouches(beam.PTransform):
    """Raw JSON lines → canonical touch/1 dicts; rejects to the ``dead_letters`` output."""

    def expand(self, lines: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return lines | "Validate" >> beam.ParDo(_Parse()).with_outputs(DEAD_LETTERS, main="touches")


def _first(pair: tuple[tuple[str, str], Iterable[dict[str, Any]]]) -> dict[str, Any]:
    records = list(pair[1])
    if len(records) == 1:
        return records[0]
    return min(records, key=lambda record: json.dumps(record, sort_keys=True))  # deterministic


class DedupeTouches(beam.PTransform):
    """One touch per ``(source, event_id)``."""

    def expand(self, touches: beam.PCollection) -> beam.PCollection:
        return (touches
                | "KeyByEvent" >> beam.Map(lambda t: ((t["source"], t["event_id"]), t))
                | "GroupByEvent" >> beam.GroupByKey()
                | "KeepFirst" >> beam.Map(_first))


def _identity(record: dict[str, Any]) -> tuple[tuple[str | None, ...], Touch]:
    touch = Touch.from_wire(record)
    return identity_of(touch), touch


def _resolve(identities: Iterable[tuple[tuple[str | None, ...], Touch]]) -> dict[tuple[str | None, ...], str]:
    """The account of every identifier set, from the graph of all of them (oldest first)."""
    ordered = sorted(identities, key=lambda pair: pair[1].order)
    graph = IdentityGraph()
    first_node = {}
    for identity, touch in ordered:
        if identity not in first_node:
            nodes = identity_nodes(touch)
            first_node[identity] = nodes[0] if nodes else None
            graph.link(touch, nodes)
    accounts = {}
    for identity, node in first_node.items():
        account = graph.account_of(node) if node is not None else None
        if account is not None:
            accounts[identity] = account
    return accounts


class ResolveAccounts(beam.PTransform):
    """Touches → (account_id, Touch) for those an identifier ties to an account; identity calls drop out."""

    def expand(self, touches: beam.PCollection) -> beam.PCollection:
        identities = touches | "Identify" >> beam.Map(_identity)
        # One identity set per distinct set of identifiers, at its earliest touch.
        earliest = (identities
                    | "KeyByIdentity" >> beam.Map(lambda pair: (pair[0], pair[1]))
                    | "EarliestPerIdentity" >> beam.CombinePerKey(lambda ts: min(ts, key=lambda t: t.order))
                    | "AllIdentities" >> beam.combiners.ToList()
                    | "BuildGraph" >> beam.Map(_resolve))
        return (identities
                | "JourneyTouchesOnly" >> beam.Filter(lambda pair: pair[1].event_type not in IDENTITY_EVENTS)
                | "AssignAccount" >> beam.FlatMap(
                    lambda pair, accounts: [(accounts[pair[0]], pair[1])] if pair[0] in accounts else [],
                    accounts=pvalue.AsSingleton(earliest)))


def _fold(account: str, touches: Iterable[Touch], settings: JourneySettings) -> list[dict[str, Any]]:
    ordered = sorted(touches, key=lambda t: t.order)
    return [row.to_row() for row in fold_journey(account, ordered, settings)[1]]


class StitchJourneys(beam.PTransform):
    """(account_id, Touch) → journey rows, folded per account in event-time order."""

    def __init__(self, settings: JourneySettings) -> None:
        super().__init__()
        self.settings = settings

    def expand(self, resolved: beam.PCollection) -> beam.PCollection:
        settings = self.settings
        return (resolved
                | "GroupByAccount" >> beam.GroupByKey()
                | "FoldJourney" >> beam.FlatMap(lambda pair: _fold(pair[0], pair[1], settings)))
