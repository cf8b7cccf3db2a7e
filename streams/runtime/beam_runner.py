"""``touchline backfill`` and ``touchline replay``: the batch path on Apache Beam.

Reads raw touch JSON Lines (paths or globs) or a lake's ``touches`` table, runs the same
pure transforms as the streaming stages (``transforms/beam``), and replaces the lake's
``touches``, ``journey_touches``, ``sla_breaches`` and ``dead_letters`` (a backfill) or
``journey_touches`` and ``sla_breaches`` (a replay; with channel rules, ``touches`` re-bucketed too).
Beam's workers write Parquet files into each Delta table's folder; when the pipeline has finished,
one commit per table adds them in place of the table's rows, so readers never see half a table
and a failed run leaves every table at its version. DirectRunner by default; with ``--workers N``
it runs N processes; any Beam option passes through (``--runner DaskRunner --dask_client_address
HOST:PORT``, ``--runner FlinkRunner``…). The pipeline ends in one step that waits on every table's
writes: runners that run only what the last step needs (Beam's DaskRunner computes the last step's
graph) write every table all the same.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from batches.columns import days, pack, split, unpack, unpack_all
from batches.privacy import redact_table
from schemas.channel_rules import ChannelRules
from schemas.channels import CHANNEL_FROM, active_channel_rules, reclassify
from schemas.event_map import EventMap
from sinks.lake import Lake, new_run_id
from sinks.privacy import PERSONAL_TABLES, for_landing, load_suppressions
from sinks.storage import PARALLEL_FILES
from sinks.tables import TABLES
from streams.runtime.worker_environment import KEEP_FREED_MEMORY, worker_environment
from streams.settings import LakeSettings, Settings
from transforms.beam.backfill import (
    OWN,
    SHARDS,
    DedupeTouches,
    ParseTouches,
    ResolveAccounts,
    StitchJourneys,
)
from transforms.gc_pause import paused_gc
from transforms.identity import IDENTITY_FIELDS
from transforms.privacy import Suppressions
from transforms.settings import JourneySettings

BATCH_LINES = 20_000
SPLIT_BYTES = 16 * 1024 * 1024
#: Beam knows its DaskRunner only by its module path; ``--runner DaskRunner`` names it as the others are named.
DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def pipeline_options(beam_args: Sequence[str]) -> PipelineOptions:
    """Beam's options from the command line's, ``DaskRunner`` named by its path."""
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner == "DaskRunner":
        standard.runner = DASK_RUNNER
    return options


def _ranges(pattern: str) -> Iterator[tuple[str, int, int]]:
    """(path, start, end) byte ranges of every file a glob matches: the units of parallel reading."""
    for match in FileSystems.match([pattern])[0].metadata_list:
        for start in range(0, max(match.size_in_bytes, 1), SPLIT_BYTES):
            yield match.path, start, min(start + SPLIT_BYTES, match.size_in_bytes)


def input_ranges(patterns: Sequence[str]) -> list[tuple[str, int, int]]:
    """The byte ranges of every input; an input that matches no file is an error, not an empty table."""
    ranges = []
    for pattern in patterns:
        found = list(_ranges(pattern))
        if not found:
            raise FileNotFoundError(f"--input {pattern!r} matches no file; the lake was not changed")
        ranges += found
    return ranges


def _read_range(split_range: tuple[str, int, int]) -> Iterator[tuple[str, list[bytes]]]:
    """The lines that start in [start, end), in batches; the line across ``start`` belongs to the range before."""
    path, start, end = split_range
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        if start:
            handle.seek(start - 1)
            handle.readline()
        position, batch, number = handle.tell(), [], 0
        while position < end:
            line = handle.readline()
            if not line:
                break
            position += len(line)
            batch.append(line.rstrip(b"\r\n"))
            if len(batch) == BATCH_LINES:
                yield f"{path}:{start}:{number}", batch
                batch, number = [], number + 1
        if batch:
            yield f"{path}:{start}:{number}", batch


def _read_lake_files(paths: list[str], lake: str, event_map: str | None,
                     channel_rules: ChannelRules | None = None) -> Iterator[bytes]:
    """Lake ``touches`` files as packed batches (validated when they landed: read as they are), their
    ``custom:`` event types named anew by the event map (a name mapped since lands as its type) and, with
    ``channel_rules``, their web touches' channels by those rules (see :func:`rebucketed`)."""
    names = EventMap.load(event_map)
    for table in Lake(lake).read_files("touches", paths):
        kinds = table["event_type"].to_pylist()
        remapped = [names.remap(kind) for kind in kinds]
        if remapped != kinds:
            table = table.set_column(table.schema.get_field_index("event_type"), "event_type",
                                     pa.array(remapped, pa.string()))
        yield pack(rebucketed(table, channel_rules) if channel_rules is not None else table)


def rebucketed(table: pa.Table, rules: ChannelRules) -> pa.Table:
    """Touches with the channel and sub-channel ``rules`` give them: a touch the door classified is classified
    anew from the inputs it kept (``properties.touchline_channel_from``: what the door's rules read); others
    (a channel the caller gave, CRM records) keep theirs."""
    channels, subchannels = table["channel"].to_pylist(), table["subchannel"].to_pylist()
    for index, properties_text in enumerate(table["properties"].to_pylist()):
        properties = json.loads(properties_text) if properties_text else None
        inputs = properties.get(CHANNEL_FROM) if isinstance(properties, dict) else None
        if isinstance(inputs, dict):
            channels[index], subchannels[index] = reclassify(inputs, rules)
    table = table.set_column(table.schema.get_field_index("channel"), "channel", pa.array(channels, pa.string()))
    return table.set_column(table.schema.get_field_index("subchannel"), "subchannel",
                            pa.array(subchannels, pa.string()))


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _dead_letter_table(named: tuple[str, list[dict[str, Any]]], salt: str | None, suppressions: Suppressions) -> bytes:
    """Dead letters as lake rows, a forgotten person's emptied and e-mails pseudonymized as the sink lands them."""
    spec = TABLES["dead_letters"]
    records = [for_landing(spec.name, record, salt, suppressions) for record in named[1]]
    return pack(pa.Table.from_pylist([spec.row(record) for record in records], schema=spec.schema))


@paused_gc()
def _by_writer(packed: bytes, table: str, writers: int) -> list[tuple[int, bytes]]:
    """A batch's rows by the writer of their event date (each date has one writer, so one file)."""
    rows = unpack(packed)
    dates = days(rows, TABLES[table].date_field).cast(pa.int32()).to_numpy()
    return [(writer, pack(part)) for writer, part in split(rows, pa.array(dates % writers))]


class _WriteDays(beam.DoFn):
    """Writes the event dates of one writer: a Parquet file per date, into the table's folder, named for
    the run (the run's commit adds them to the table).

    Rows that carry a forgotten person's identifier land without them, as the sink lands them.
    """

    def __init__(self, lake: str, table: str, run: str, suppressions: Suppressions) -> None:
        self.lake, self.table, self.run, self.suppressions = lake, table, run, suppressions

    @paused_gc()
    def process(self, writer_parts: tuple[int, Iterable[bytes]]) -> list[int]:
        rows = unpack_all(writer_parts[1])
        if self.table in PERSONAL_TABLES:
            rows = redact_table(rows, self.suppressions)
        parts = split(rows, days(rows, TABLES[self.table].date_field))
        Lake(self.lake).write_staged(self.table, self.run, writer_parts[0], ((d.isoformat(), p) for d, p in parts))
        return [rows.num_rows]


def _write(batches: beam.PCollection, lake: str, table: str, run: str, suppressions: Suppressions,
           writers: int = SHARDS) -> beam.PCollection:
    """Packed tables of ``table``'s schema → one Parquet file per event date."""
    return (batches
            | f"ByWriter[{table}]" >> beam.FlatMap(_by_writer, table, writers)
            | f"GroupByWriter[{table}]" >> beam.GroupByKey()
            | f"Write[{table}]" >> beam.ParDo(_WriteDays(lake, table, run, suppressions)))


def erased_touch_accounts(lake: Lake) -> dict[tuple[str, str], str]:
    """The account of each journey touch left with no identifier by ``touchline forget``, by (source, event_id)."""
    files = lake.files("journey_touches")
    if not files:
        return {}
    own = {touches: journeys for journeys, touches in OWN.items()}
    identifiers = ", ".join(own.get(name, name) for name in IDENTITY_FIELDS)
    connection = lake.connect()
    try:
        rows = connection.execute(
            f"select source, event_id, account_id from read_parquet(?) where coalesce({identifiers}) is null",
            [files]).fetchall()
    finally:
        connection.close()
    return {(source, event_id): account for source, event_id, account in rows}


def run_pipeline(inputs: Sequence[str], landing: LakeSettings, settings: JourneySettings, *, replay: bool = False,
                 beam_args: Sequence[str] = (), event_map: str | None = None,
                 channel_rules: ChannelRules | None = None) -> dict[str, int]:
    """Build and run the pipeline, then commit each table it wrote; return the tables' new versions.

    Personal data is handled as the streaming pipeline handles it: with the lake's salt, e-mails are
    pseudonymized as touches are parsed; whoever the lake's suppression list names lands
    without their identifiers. A replay names ``custom:`` event types anew with ``event_map`` (a file
    over the shipped defaults) and, with ``channel_rules``, re-buckets the channels the door classified (all history,
    ``touches`` too, in the replay's one commit per table). A backfill validates channels by the active channel rules.
    """
    store = Lake(landing.root)
    touch_files = store.files("touches") if replay else []
    if replay and not touch_files:
        raise FileNotFoundError(f"{store} has no touches to replay")
    ranges = [] if replay else input_ranges(inputs)
    tables = (["journey_touches", "sla_breaches"] + (["touches"] if channel_rules is not None else []) if replay
              else ["touches", "journey_touches", "sla_breaches", "dead_letters"])
    for table in tables:
        store.create(table)
    suppressions = load_suppressions(store, landing.suppression_key)
    run = new_run_id()
    try:
        _build_and_run(touch_files, ranges, store, run, settings, pipeline_options(beam_args), landing.salt,
                       suppressions, event_map, channel_rules)
    except BaseException:
        for table in tables:  # the tables keep their versions
            store.discard_staged(table, run)
        raise
    description = "touchline replay" if replay else "touchline backfill"
    return {table: store.commit_staged(table, run, description=description, overwrite=True) for table in tables}


def _build_and_run(touch_files: list[str], ranges: list[tuple[str, int, int]], lake: Lake, run: str,
                   settings: JourneySettings, options: PipelineOptions, salt: str | None,
                   suppressions: Suppressions, event_map: str | None = None,
                   channel_rules: ChannelRules | None = None) -> None:
    """A replay reads ``touch_files`` (the lake's own); a backfill reads the byte ``ranges`` of raw files."""
    replay = bool(touch_files)
    writes = []
    # Beam's worker processes (``--workers N``) shuffle megabyte batches: glibc keeps their freed memory
    # (about 10% of a 2-worker run here was page faults).
    with paused_gc(), worker_environment(KEEP_FREED_MEMORY):
        pipeline = beam.Pipeline(options=options)
        if replay:
            parsed = (pipeline
                      | "LakeTouchFiles" >> beam.Create(_chunks(touch_files, PARALLEL_FILES))
                      | "ReadLakeTouches" >> beam.FlatMap(_read_lake_files, lake.root, event_map, channel_rules))
        else:
            raw = (pipeline
                   | "Ranges" >> beam.Create(ranges)
                   | "Reshuffle" >> beam.Reshuffle()  # spread the ranges over the workers
                   | "ReadLines" >> beam.FlatMap(_read_range))
            outputs = raw | "ParseTouches" >> ParseTouches(TABLES["touches"].schema, salt, active_channel_rules())
            parsed = outputs.touches
            dead = outputs.dead_letters | "DeadLetterRows" >> beam.Map(_dead_letter_table, salt, suppressions)
            writes.append(_write(dead, lake.root, "dead_letters", run, suppressions))
        touches = parsed | "DedupeTouches" >> DedupeTouches()  # (shard, touches)
        erased = erased_touch_accounts(lake) if replay else {}
        resolved = touches | "ResolveAccounts" >> ResolveAccounts(erased=erased)  # (account shard, touches)
        journeys = resolved | "StitchJourneys" >> StitchJourneys(settings, TABLES["journey_touches"].schema,
                                                                 TABLES["sla_breaches"].schema)
        writes.append(_write(journeys.journeys, lake.root, "journey_touches", run, suppressions))
        writes.append(_write(journeys.breaches, lake.root, "sla_breaches", run, suppressions))
        if not replay:
            writes.append(_write(touches | "TouchTables" >> beam.Map(lambda pair: pair[1]), lake.root, "touches",
                                 run, suppressions))
        elif channel_rules is not None:  # the same rows, re-bucketed: touches and journeys agree
            writes.append(_write(parsed, lake.root, "touches", run, suppressions))
        # the last step, and it waits on every write (see the module's note)
        _ = tuple(writes) | "AllWrites" >> beam.Flatten() | "Written" >> beam.CombineGlobally(sum).without_defaults()
        result = pipeline.run()
        try:
            result.wait_until_finish()
        finally:
            if (client := getattr(result, "client", None)) is not None:  # the DaskRunner's, which Beam leaves open
                client.close()


def run(argv: Sequence[str] | None = None) -> None:
    """The backfill as a Beam program: ``python -m transforms.beam --input GLOB --lake DIR [beam options]``.

    ``--replay`` re-stitches the lake from its own touches instead; the journey rules'
    options are the CLI's. Every other option goes to Beam (``--runner FlinkRunner`` ...).
    """
    defaults = JourneySettings()
    parser = argparse.ArgumentParser(prog="python -m transforms.beam", description=run.__doc__)
    parser.add_argument("--input", dest="inputs", action="append", default=[],
                        help="Touch JSON Lines: path or glob (repeatable).")
    parser.add_argument("--lake", help="The lake to (re)build: a folder or s3://bucket/prefix "
                        "(default: TOUCHLINE_LAKE, else lake).")
    parser.add_argument("--replay", action="store_true", help="Re-stitch the lake from its own touches.")
    parser.add_argument("--dormancy-days", type=int, default=defaults.dormancy_days)
    parser.add_argument("--lead-sla-hours", type=float, default=defaults.lead_sla_hours)
    parser.add_argument("--allowed-lateness-hours", type=float, default=defaults.allowed_lateness_hours)
    known, beam_args = parser.parse_known_args(argv)
    if not known.inputs and not known.replay:
        parser.error("give --input (one or more) or --replay")
    settings = JourneySettings(dormancy_days=known.dormancy_days, lead_sla_hours=known.lead_sla_hours,
                               allowed_lateness_hours=known.allowed_lateness_hours)
    run_pipeline(known.inputs, Settings().lake_settings(known.lake), settings, replay=known.replay,
                 beam_args=beam_args)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    run()
