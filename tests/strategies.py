"""Hypothesis strategies shared by the test packages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from schemas.vocabulary import Channel, EventType, Team, TimePrecision

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
# hypothesis takes naive bounds and adds the zones itself
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),  # noqa: DTZ001
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),  # NaN and infinity too
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10)
#: touch/1 objects, mostly valid (deal events may lack their deal fields), every optional field in play.
wire_touches = st.fixed_dictionaries(
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
