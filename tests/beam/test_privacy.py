"""Personal data in Arrow batches agrees with the record rules of transforms.privacy."""

import pyarrow as pa

from batches.privacy import pseudonymize_emails, redact_table
from transforms.privacy import Suppressions, identifier_digest, pseudonymize_email


def test_a_table_is_redacted_row_by_row_as_records_are():
    suppressions = Suppressions(frozenset({identifier_digest("anonymous_id", "a1"),
                                           identifier_digest("email", "x@y.com")}))
    rows = [{"event_id": "e1", "anonymous_id": "a1", "email": None, "user_id": "u1", "crm_contact_id": None,
             "properties": "{}", "utm": None, "disposition_note": "Ann says she is a student"},
            {"event_id": "e2", "anonymous_id": "a2", "email": "X@Y.com ", "user_id": None, "crm_contact_id": "c",
             "properties": None, "utm": "{}", "disposition_note": None},
            {"event_id": "e3", "anonymous_id": "a2", "email": "z@y.com", "user_id": None, "crm_contact_id": None,
             "properties": "{}", "utm": None, "disposition_note": "call back in Q3"}]
    redacted = redact_table(pa.Table.from_pylist(rows), suppressions).to_pylist()
    assert redacted == [suppressions.redact(row) for row in rows]
    assert [row["event_id"] for row in redacted if row["anonymous_id"] is None] == ["e1", "e2"]
    assert [row["disposition_note"] for row in redacted] == [None, None, "call back in Q3"]  # a seller's words
    assert redact_table(pa.Table.from_pylist(rows), Suppressions()).to_pylist() == rows


def test_an_email_column_is_pseudonymized_value_by_value():
    emails = pa.chunked_array([["Ann@Acme.com", None], ["bo@initech.io", "Ann@Acme.com"]])
    assert pseudonymize_emails(emails, "k").to_pylist() == [
        pseudonymize_email("ann@acme.com", "k"), None, pseudonymize_email("bo@initech.io", "k"),
        pseudonymize_email("ann@acme.com", "k")]
    assert pseudonymize_emails(emails, None) is emails


def test_free_form_columns_are_pseudonymized_as_records_are():
    from batches.privacy import pseudonymize_table
    from transforms.admission import json_text
    from transforms.privacy import pseudonymize

    records = [{"email": "Ann@Acme.com", "properties": {"url": "https://acme.com/?e=ann%40acme.com", "n": 1},
                "utm": {"utm_term": "bo@initech.io"}, "disposition_note": "wrote to o'brien@acme.com"},
               {"email": None, "properties": None, "utm": None, "disposition_note": None}]

    def row(record):
        return {name: json_text(value) if isinstance(value, dict) else value for name, value in record.items()}

    table = pa.Table.from_pylist([row(record) for record in records])
    assert pseudonymize_table(table, "k").to_pylist() == [row(pseudonymize(record, "k")) for record in records]
    assert "ann" not in str(pseudonymize_table(table, "k").to_pylist()).lower()
    assert pseudonymize_table(table, None) is table
