"""Touch batches as Arrow tables, the element the backfill's stages pass each other.

A batch travels between stages as the bytes of an Arrow IPC stream: Beam encodes bytes with
one copy, and a stage reads them back without parsing. Inside a stage, work that Arrow does in
C (sorting, filtering, taking rows) stays columnar; the rules that are Python (validation,
identity, the fold) read only the columns they need, so a touch never becomes a dict of its
twenty-odd fields between parsing and writing.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.touch import TouchEvent
from transforms.admission import CONTENT_FIELDS, digest_of, json_text
from transforms.types import event_rank

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: lz4 costs little and more than halves what multi-process runners move between workers.
_IPC = pa.ipc.IpcWriteOptions(compression="lz4")


def pack(table: pa.Table) -> bytes:
    """A table as the bytes of an (lz4-compressed) Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def unpack(data: bytes) -> pa.Table:
    """The table :func:`pack` wrote (zero-copy over ``data``)."""
    return pa.ipc.open_stream(data).read_all()


def unpack_all(parts: Iterable[bytes]) -> pa.Table:
    """The tables of several packed batches as one table."""
    return pa.concat_tables([unpack(part) for part in parts])


#: A validated TouchEvent's ``__dict__`` holds every field, in declaration order.
FIELDS = tuple(TouchEvent.model_fields)
#: Fields the lake stores as JSON text.
JSON_FIELDS = frozenset(name for name, info in TouchEvent.model_fields.items()
                        if any(typing.get_origin(kind) is dict for kind in typing.get_args(info.annotation)))


def _json_text(event: TouchEvent, name: str) -> str | None:
    """A JSON-object field as the lake stores it: the wire JSON (``to_wire``), keys sorted."""
    value = event.__dict__[name]
    if value is None:
        return None
    try:
        return json_text(value)
    except ValueError:  # NaN or infinity inside: the wire form writes them as null
        return json.dumps(event.model_dump(mode="json", include={name})[name], sort_keys=True)


def touches_table(events: Sequence[TouchEvent], schema: pa.Schema) -> pa.Table:
    """Validated touches as rows of the lake's ``touches`` table, as the sink writes them.

    Enum members go to Arrow as they are (they are ``str``); JSON objects become sorted JSON text.
    """
    if not events:
        return schema.empty_table()
    columns = dict(zip(FIELDS, zip(*(event.__dict__.values() for event in events), strict=True), strict=True))
    arrays = []
    for field in schema:
        name = field.name
        if name in JSON_FIELDS:
            column: Sequence[Any] = [_json_text(event, name) for event in events]
        else:
            column = columns[name]
        arrays.append(pa.array(column, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def times(column: pa.ChunkedArray) -> list[datetime | None]:
    """A UTC timestamp column as aware datetimes (pyarrow's own conversion is ~6x slower)."""
    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    return [None if m is None else _EPOCH + timedelta(microseconds=m) for m in micros]


def in_event_order(table: pa.Table, *first: str) -> pa.Table:
    """Rows sorted by ``first`` columns, then by the touch order (time, process rank, source, id)."""
    ranks = pa.array([event_rank(kind) for kind in table["event_type"].to_pylist()], pa.int8())
    keys = [*first, "occurred_at", "_rank", "source", "event_id"]
    ranked = table.append_column("_rank", ranks)
    return ranked.sort_by([(key, "ascending") for key in keys]).drop_columns(["_rank"])


def first_rows(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The first row of each distinct combination of ``keys`` (nulls alike), in the table's order."""
    numbered = table.select(list(keys)).append_column("_row", pa.array(np.arange(table.num_rows)))
    first = numbered.group_by(list(keys), use_threads=False).aggregate([("_row", "min")])["_row_min"]
    return table.take(pa.array(np.sort(first.to_numpy())))


def best_of_each_event(table: pa.Table) -> pa.Table:
    """The best copy of each ``(source, event_id)`` (:func:`transforms.admission.copy_order`: received first,
    then the earliest event time, then the least content; a missing value after any), in event-time order."""
    keys = ["source", "event_id", "received_at", "occurred_at", DIGEST, *CONTENT_FIELDS]
    ranked = with_digests(table).sort_by([(key, "ascending") for key in keys])  # Arrow puts nulls last
    return in_event_order(first_rows(ranked, ["source", "event_id"]).drop_columns([DIGEST]))


DIGEST = "_content_digest"


def with_digests(table: pa.Table) -> pa.Table:
    """The table with each row's content digest (:func:`transforms.admission.digest_of`) as ``DIGEST``: for
    rows whose key repeats (the only rows it ranks), empty for the rest."""
    repeated = table.group_by(["source", "event_id"], use_threads=False).aggregate([([], "count_all")])
    repeated = repeated.filter(pc.greater(repeated["count_all"], 1))
    if not repeated.num_rows:
        return table.append_column(DIGEST, pa.array([b""] * table.num_rows, pa.binary()))
    wanted = set(zip(repeated["source"].to_pylist(), repeated["event_id"].to_pylist(), strict=True))
    keys = zip(table["source"].to_pylist(), table["event_id"].to_pylist(), strict=True)
    content = zip(*(table[name].to_pylist() for name in CONTENT_FIELDS), strict=True)
    return table.append_column(DIGEST, pa.array([digest_of(values) if key in wanted else b""
                                                 for key, values in zip(keys, content, strict=True)], pa.binary()))


def split(table: pa.Table, keys: pa.Array | Sequence[Any]) -> Iterator[tuple[Any, pa.Table]]:
    """The table's rows grouped by ``keys`` (one key per row), one table per key.

    One ``take`` sorts the rows by key; each group is then a zero-copy slice.
    """
    encoded = (keys if isinstance(keys, pa.Array) else pa.array(keys)).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    rows = table.take(pa.array(np.argsort(codes, kind="stable")))
    start = 0
    for key, length in zip(encoded.dictionary.to_pylist(), np.bincount(codes, minlength=len(encoded.dictionary)),
                           strict=True):
        yield key, rows.slice(start, length)
        start += length


def days(table: pa.Table, field: str | None) -> pa.Array:
    """The ``event_date`` partition of each row: the UTC date of ``field`` (1970-01-01 if it has none)."""
    if field is None:
        return pa.array([0] * table.num_rows, pa.int32()).cast(pa.date32())
    return pc.fill_null(pc.cast(table[field], pa.date32()), pa.scalar(0, pa.int32()).cast(pa.date32())).combine_chunks()


def map_distinct(values: pa.Array | pa.ChunkedArray, function: Callable[[Any], Any], kind: pa.DataType) -> pa.Array:
    """``function`` of each value, called once per distinct value; nulls stay null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    return pa.array([function(value) for value in encoded.dictionary.to_pylist()], kind).take(encoded.indices)


def empty_where(table: pa.Table, mask: pa.Array, columns: Sequence[str]) -> pa.Table:
    """``table`` with ``columns`` set to null on the rows ``mask`` selects (null in the mask selects none)."""
    mask = pc.fill_null(mask, False)
    for name in columns:
        index = table.column_names.index(name)
        table = table.set_column(index, table.field(index), pc.if_else(mask, pa.scalar(None, table[name].type),
                                                                       table[name]))
    return table
