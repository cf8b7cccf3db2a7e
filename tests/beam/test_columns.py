"""The backfill's columnar batches hold exactly the rows the streaming sink writes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.touch import TouchEvent, parse_touch
from schemas.vocabulary import Channel, EventType, Team, TimePrecision
from sinks.tables import TABLES
from transforms.beam.columns import days, first_of_each_event, in_event_order, pack, split, times, touches_table, unpack

SPEC = TABLES["touches"]
ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
# hypothesis takes naive bounds and adds the zones itself
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),  # noqa: DTZ001
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),  # NaN and infinity too
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10)
touches = st.fixed_dictionaries(
    {"event_id": ids, "source": ids, "event_type": st.sampled_from([str(e) for e in EventType]),
     "occurred_at": moments.map(datetime.isoformat), "anonymous_id": ids},
    optional={"received_at": moments.map(datetime.isoformat), "user_id": ids, "crm_contact_id": ids,
              "email": st.sampled_from(["a.b@acme.example", "Zoë@gmail.com"]), "account_id": ids,
              "account_domain": st.sampled_from(["WWW.Acme.example", "initech.example"]),
              "channel": st.sampled_from([str(c) for c in Channel]), "team": st.sampled_from([str(t) for t in Team]),
              "occurred_at_precision": st.sampled_from([str(p) for p in TimePrecision]), "campaign_id": ids,
              "utm": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3), "role": ids,
              "opportunity_id": ids, "amount": st.floats(min_value=0, allow_infinity=False),
              "currency": st.sampled_from(["EUR", "USD"]), "stage_raw": ids,
              "properties": st.dictionaries(st.text(max_size=6), json_values, max_size=4)})


def sink_rows(events: list[TouchEvent]) -> list[dict[str, object]]:
    """What the streaming sink writes for these touches: their wire JSON through the table's row builder."""
    rows = [SPEC.row(json.loads(json.dumps(event.to_wire())), -1, 0)[1] for event in events]
    return pa.Table.from_pylist(rows, schema=SPEC.schema).to_pylist()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(touches, min_size=1, max_size=5))
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


def test_event_order_dedupe_and_split():
    def touch(event_id, at, kind="site_visit"):
        return parse_touch(json.dumps({"event_id": event_id, "source": "s", "event_type": kind, "anonymous_id": "a",
                                       "occurred_at": at, **({"opportunity_id": "o", "amount": 1.0, "currency": "EUR"}
                                                             if kind == "closed_won" else {})}))
    events = [touch("b", "2026-01-02T00:00:00Z"), touch("w", "2026-01-01T00:00:00Z", "closed_won"),
              touch("a", "2026-01-01T00:00:00Z"), touch("b", "2026-01-03T00:00:00Z")]
    table = first_of_each_event(in_event_order(touches_table(events, SPEC.schema)))
    # same time: a site visit before the deal closes; the later copy of "b" is dropped
    assert table["event_id"].to_pylist() == ["a", "w", "b"]
    parts = {key: part["event_id"].to_pylist() for key, part in split(table, days(table, "occurred_at"))}
    assert parts == {date(2026, 1, 1): ["a", "w"], date(2026, 1, 2): ["b"]}
