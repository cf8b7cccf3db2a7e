"""Personal data in Arrow batches: the columnar twins of :mod:`transforms.privacy`'s record rules."""

from __future__ import annotations

from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from transforms.beam.columns import empty_where, map_distinct
from transforms.privacy import FREE_FORM_FIELDS, PERSON_FIELDS, Suppressions, pseudonymize_email


def pseudonymize_emails(emails: pa.Array | pa.ChunkedArray, salt: str | None) -> pa.Array | pa.ChunkedArray:
    """An e-mail column, pseudonymized value by value (unchanged without a salt)."""
    return map_distinct(emails, partial(pseudonymize_email, salt=salt), pa.string()) if salt else emails


def redact_table(table: pa.Table, suppressions: Suppressions) -> pa.Table:
    """``Suppressions.redact`` for each row of a table (one digest per distinct identifier)."""
    if not suppressions.digests:
        return table
    hit = pa.array([False] * table.num_rows)
    for kind in PERSON_FIELDS:
        hit = pc.or_kleene(hit, map_distinct(table[kind], partial(suppressions.names, kind), pa.bool_()))
    return empty_where(table, hit, PERSON_FIELDS + FREE_FORM_FIELDS)
