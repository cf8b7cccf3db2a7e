"""The backfill's columnar batches hold exactly the rows the streaming sink writes."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from batches.columns import best_of_each_event, days, pack, split, times, touches_table, unpack
from schemas.touch import TouchEvent, parse_touch
from sinks.tables import JOURNEY_FIELDS, TABLES
from tests.strategies import wire_touches
from transforms.beam.backfill import FOLDED, OWN

SPEC = TABLES["touches"]


def sink_rows(events: list[TouchEvent]) -> list[dict[str, object]]:
    """What the streaming sink writes for these touches: their wire JSON through the table's row builder."""
    rows = [SPEC.row(json.loads(json.dumps(event.to_wire()))) for event in events]
    return pa.Table.from_pylist(rows, schema=SPEC.schema).to_pylist()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(wire_touches, min_size=1, max_size=5))
def test_touch_columns_equal_the_sinks_rows(records):
    events = [e for e in (parse_touch(json.dumps(r)) for r in records) if isinstance(e, TouchEvent)]
    assume(events)
    table = unpack(pack(touches_table(events, SPEC.schema)))
    assert table.to_pylist() == sink_rows(events)
    assert times(table["occurred_at"]) == [e.occurred_at for e in events]


def test_nan_inside_properties_is_stored_as_the_wire_writes_it():
    event = parse_touch(b'{"event_id": "e", "source": "s", "event_type": "site_visit", "anonymous_id": "a",'
                        b' "occurred_at": "2026-01-01T23:30:00-02:00", "properties": {"x": NaN, "b": [Infinity]}}')
    table = touches_table([event], SPEC.schema)
    assert table["properties"].to_pylist() == ['{"b": [null], "x": null}']
    assert days(table, "occurred_at").to_pylist() == [date(2026, 1, 2)]


def test_event_order_best_copy_and_split():
    def touch(event_id, at, kind="site_visit", received=None):
        return parse_touch(json.dumps({"event_id": event_id, "source": "s", "event_type": kind, "anonymous_id": "a",
                                       "occurred_at": at, **({"received_at": received} if received else {}),
                                       **({"opportunity_id": "o", "amount": 1.0, "currency": "EUR"}
                                          if kind == "closed_won" else {})}))
    events = [touch("b", "2026-01-02T00:00:00Z"), touch("w", "2026-01-01T00:00:00Z", "closed_won"),
              touch("a", "2026-01-01T00:00:00Z"), touch("b", "2026-01-03T00:00:00Z"),
              touch("r", "2026-01-02T00:00:00Z", received="2026-01-02T00:10:00Z"),
              touch("r", "2026-01-01T23:59:00Z", received="2026-01-02T00:20:00Z")]
    table = best_of_each_event(touches_table(events, SPEC.schema))
    # same time: a site visit before the deal closes; the later copy of "b" is dropped, and of "r" the one
    # received first stays although the other's event time is earlier
    assert table["event_id"].to_pylist() == ["a", "w", "b", "r"]
    assert [t.minute for t in times(table["occurred_at"])] == [0, 0, 0, 0]
    parts = {key: part["event_id"].to_pylist() for key, part in split(table, days(table, "occurred_at"))}
    assert parts == {date(2026, 1, 1): ["a", "w"], date(2026, 1, 2): ["b", "r"]}


def test_journey_columns_are_the_folds_fields_and_the_touchs_own():
    # what the fold computes, written out by hand (ARCHITECTURE.md: a journey touch's ids, stage and milestones)
    computed = {"account_id", "journey_id", "cycle", "seq", "stage", "stage_before", "is_first_touch",
                "is_lead_touch", "is_opportunity_touch", "is_close_touch", "is_reengagement", "lead_response_hours"}
    assert computed == FOLDED
    journey_name = {touch: journey for journey, touch in OWN.items()}
    touch_columns = {journey_name.get(name, name) for name in TouchEvent.model_fields}
    assert {name for name, _ in JOURNEY_FIELDS} == computed | touch_columns


def test_copies_alike_in_both_times_keep_the_copy_admission_keeps_in_any_order():
    from itertools import permutations

    from transforms.admission import dedupe
    from transforms.types import to_touch

    def copy(**fields):  # a CRM export twice: no receipt time, the same event time, other content
        return parse_touch(json.dumps({"event_id": "c", "source": "crm", "event_type": "form_fill",
                                       "account_id": "acme", "occurred_at": "2026-01-01T00:00:00Z", **fields}))
    copies = [copy(campaign_id="c-2"), copy(campaign_id="c-1", properties={"form": "demo", "n": 2.5}), copy(),
              copy(utm={"utm_source": "x"}, amount=3.0, currency="EUR")]
    kept = {json.dumps(dedupe(to_touch(e) for e in copies)[0].to_wire(), sort_keys=True)}
    for order in permutations(copies):
        [row] = best_of_each_event(touches_table(list(order), SPEC.schema)).to_pylist()
        [touch] = dedupe(to_touch(e) for e in order)
        assert row == sink_rows([next(e for e in copies if to_touch(e) == touch)])[0]
        kept.add(json.dumps(touch.to_wire(), sort_keys=True))
    assert len(kept) == 1
