"""Personal data in Arrow batches: the columnar twins of :mod:`transforms.privacy`'s record rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from batches.columns import empty_where, map_distinct
from transforms.admission import json_text
from transforms.privacy import (
    FREE_FORM_FIELDS,
    PERSON_FIELDS,
    Suppressions,
    pseudonymize_email,
    pseudonymize_free_form,
    pseudonymize_text,
)


def pseudonymize_emails(emails: pa.Array | pa.ChunkedArray, salt: str | None) -> pa.Array | pa.ChunkedArray:
    """An e-mail column, pseudonymized value by value (unchanged without a salt)."""
    return map_distinct(emails, partial(pseudonymize_email, salt=salt), pa.string()) if salt else emails


def pseudonymize_table(table: pa.Table, salt: str | None) -> pa.Table:
    """A ``touches`` table with its e-mails, and every address in its free-form fields (JSON text or text),
    pseudonymized as admission does (unchanged without a salt)."""
    if not salt:
        return table
    table = table.set_column(table.schema.get_field_index("email"), "email", pseudonymize_emails(table["email"], salt))
    for name in FREE_FORM_FIELDS:
        index = table.schema.get_field_index(name)
        scrub: Callable[[str], str]
        if name == "disposition_note":
            scrub = partial(pseudonymize_text, salt=salt)
        else:
            def scrub(text: str) -> str:
                return json_text(pseudonymize_free_form(json.loads(text), salt))
        table = table.set_column(index, table.field(index), map_distinct(table[name], scrub, pa.string()))
    return table


def redact_table(table: pa.Table, suppressions: Suppressions) -> pa.Table:
    """``Suppressions.redact`` for each row of a table (one digest per distinct identifier)."""
    if not suppressions.digests:
        return table
    hit = pa.array([False] * table.num_rows)
    for kind in PERSON_FIELDS:
        hit = pc.or_kleene(hit, map_distinct(table[kind], partial(suppressions.names, kind), pa.bool_()))
    return empty_where(table, hit, PERSON_FIELDS + FREE_FORM_FIELDS)
