"""One declaration per table (sinks/tables.py): what writes or documents a table agrees with it.

The SQL views are checked against it in tests/sql (the journey_touches view carries every column),
Beam's journey writer in tests/beam/test_columns.py; ``touchline stitch`` takes its columns from it; the docs'
table reference (docs/lake.md) is generated from it and checked in tests/unit/test_docs.py.
"""

from __future__ import annotations

import json

from schemas.touch import TouchEvent, parse_touch
from sinks.tables import BREACH_FIELDS, JOURNEY_FIELDS, TOUCH_FIELDS
from streams.services.stitch import JOURNEY_COLUMNS
from transforms.lead_sla import Breach
from transforms.stitching import stitch
from transforms.types import to_touch


def names(fields):
    return [name for name, _ in fields]


def touch(**fields):
    event = parse_touch(json.dumps({"source": "crm", "occurred_at": "2026-03-02T10:00:00Z", **fields}))
    assert isinstance(event, TouchEvent), event
    return to_touch(event)


def test_the_touches_table_has_a_column_per_touch_field():
    assert set(names(TOUCH_FIELDS)) == set(TouchEvent.model_fields)


def test_a_journey_rows_fields_are_the_tables_columns():
    everything = {"email": "ana@acme.example", "anonymous_id": "anon-1", "user_id": "u1", "crm_contact_id": "c1",
                  "account_id": "acme", "account_domain": "acme.example", "channel": "paid_search",
                  "subchannel": "brand", "campaign_id": "q1", "utm": {"source": "g"}, "team": "marketing",
                  "role": "champion",
                  "content_id": "/pricing", "properties": {"plan": "pro"}, "received_at": "2026-03-02T10:00:01Z"}
    touches = [touch(event_id="visit", event_type="form_fill", **everything),
               touch(event_id="no", event_type="lead_rejected", account_id="acme", disposition_reason="bad_fit",
                     disposition_note="student", occurred_at="2026-03-02T11:00:00Z"),
               touch(event_id="won", event_type="closed_won", account_id="acme", opportunity_id="o1", amount=9.5,
                     currency="EUR", stage_raw="Closed Won", occurred_at="2026-03-03T11:00:00Z")]
    rows = [row.to_row() for row in stitch(touches).rows]
    seen = set().union(*rows)
    assert seen - {"is_unresolved"} == set(names(JOURNEY_FIELDS))
    # stitch --format csv's header, a contract users' scripts read: written out by hand
    assert JOURNEY_COLUMNS == [
        "event_id", "source", "account_id", "journey_id", "cycle", "seq", "stage", "stage_before",
        "is_first_touch", "is_lead_touch", "is_opportunity_touch", "is_close_touch", "is_reengagement",
        "lead_response_hours", "is_unresolved", "event_type", "occurred_at", "touch_account_id", "anonymous_id",
        "user_id", "email", "crm_contact_id", "account_domain", "channel", "campaign_id", "team", "role",
        "opportunity_id", "amount", "currency", "stage_raw", "occurred_at_precision", "received_at", "utm",
        "properties", "content_id", "disposition_reason", "disposition_note", "subchannel"]  # subchannel: added last


def test_a_breach_row_has_the_tables_columns_in_order():
    assert list(Breach("lead", "acme", "jrn", *(None,) * 5).columns()) == names(BREACH_FIELDS)
