"""``touchline backfill`` and ``touchline replay``: the batch path on Apache Beam.

Reads raw touch JSON Lines (paths or globs) or a lake's ``touches`` table, runs the same
pure transforms as the streaming stages (``transforms/beam``), and writes the lake's layout
and file schema: ``touches``, ``journey_touches`` and ``dead_letters`` for a backfill,
``journey_touches`` for a replay. Tables are written beside the lake and swapped in when the
pipeline has finished, so readers never see half a table. DirectRunner by default; with
``--workers N`` it runs N processes; any Beam option passes through (``--runner FlinkRunner``…).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from sinks.tables import TABLES, Table
from transforms.beam.backfill import DEAD_LETTERS, DedupeTouches, ParseTouches, ResolveAccounts, StitchJourneys
from transforms.settings import JourneySettings
from transforms.types import iso


def _lake_row_to_wire(row: dict[str, Any]) -> str:
    """A ``touches`` Parquet row back to its touch/1 JSON line."""
    wire = {}
    for name, value in row.items():
        if value is None or name.startswith("_") or name == "event_date":
            continue
        if isinstance(value, datetime):
            value = iso(value)
        elif name in ("utm", "properties"):
            value = json.loads(value)
        wire[name] = value
    return json.dumps(wire)


class _WriteTableDay(beam.DoFn):
    """Writes one event date of one table: a Parquet file in the lake's schema."""

    def __init__(self, root: str, table: str) -> None:
        self.root, self.table = root, table

    def process(self, day_rows: tuple[str, Iterable[dict[str, Any]]]) -> Iterable[int]:
        day, rows = day_rows
        table: Table = TABLES[self.table]
        dated = [table.row(record, -1, 0)[1] for record in rows]
        directory = Path(self.root) / self.table / f"event_date={day}"
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(dated, schema=table.schema), directory / "part-backfill.parquet",
                       compression="zstd")
        yield len(dated)


def _write(rows: beam.PCollection, root: str, table: str) -> beam.PCollection:
    spec = TABLES[table]
    return (rows
            | f"ByDay[{table}]" >> beam.Map(lambda r: (spec.day(r), r))
            | f"GroupByDay[{table}]" >> beam.GroupByKey()
            | f"Write[{table}]" >> beam.ParDo(_WriteTableDay(root, table)))


def swap_in(lake: Path, staging: Path, tables: Sequence[str]) -> None:
    """Replace each table of the lake with the staged one (rename, then drop the old)."""
    for table in tables:
        staged, live = staging / table, lake / table
        if not staged.exists():
            staged.mkdir(parents=True)
        old = lake / f".old-{uuid.uuid4().hex}-{table}"
        if live.exists():
            live.rename(old)
        staged.rename(live)
        shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def run(inputs: Sequence[str], lake: Path, settings: JourneySettings, *, replay: bool = False,
        beam_args: Sequence[str] = ()) -> None:
    """Build and run the pipeline, then swap the new tables into the lake."""
    lake.mkdir(parents=True, exist_ok=True)
    staging = lake / f".staging-{uuid.uuid4().hex}"
    options = PipelineOptions(list(beam_args))
    with beam.Pipeline(options=options) as pipeline:
        if replay:
            raw = (pipeline
                   | "ReadLakeTouches" >> beam.io.ReadFromParquet(str(lake / "touches" / "*" / "*.parquet"))
                   | "ToWire" >> beam.Map(_lake_row_to_wire))
        else:
            raw = (pipeline
                   | "Inputs" >> beam.Create(list(inputs))
                   | "ReadLines" >> beam.io.ReadAllFromText())
        parsed = raw | "ParseTouches" >> ParseTouches()
        touches = parsed.touches | "DedupeTouches" >> DedupeTouches()
        # (account_id, Touch)
        resolved = touches | "ResolveAccounts" >> ResolveAccounts()
        journey_rows = resolved | "StitchJourneys" >> StitchJourneys(settings)
        _write(journey_rows, str(staging), "journey_touches")
        if not replay:
            _write(touches, str(staging), "touches")
            _write(parsed[DEAD_LETTERS], str(staging), "dead_letters")
    swap_in(lake, staging, ["journey_touches"] if replay else ["touches", "journey_touches", "dead_letters"])
