"""Properties of the journey fold that hold for any input."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.vocabulary import IDENTITY_EVENTS, EventType, Team
from transforms.settings import JourneySettings
from transforms.stages import is_legal
from transforms.stitching import stitch, stream
from transforms.types import Touch

JOURNEY = JourneySettings(dormancy_days=30, allowed_lateness_hours=72)
EVENTS = [e for e in EventType if e not in IDENTITY_EVENTS]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def touch_streams(draw):
    """Touches of a few accounts with gaps from minutes to months, and an arrival delay each."""
    count = draw(st.integers(1, 40))
    at = T0
    touches, delays = [], []
    for i in range(count):
        at += timedelta(minutes=draw(st.sampled_from([0, 1, 30, 60 * 20, 60 * 24 * 10, 60 * 24 * 45])))
        event = draw(st.sampled_from(EVENTS))
        deal = {"opportunity_id": "o", "amount": 10.0, "currency": "USD"} if "closed" in event else {}
        touches.append(Touch(
            event_id=f"e{i}", source=draw(st.sampled_from(["crm", "web"])), event_type=event,
            occurred_at=at, account_id=draw(st.sampled_from(["a", "b", "c"])),
            team=draw(st.sampled_from(list(Team))), **deal,
        ))
        delays.append(timedelta(minutes=draw(st.integers(0, 72 * 60 - 1))))
    return touches, delays


def arrival_order(touches, delays):
    return [t for _, t in sorted(zip(delays, touches, strict=True),
                                 key=lambda p: p[1].occurred_at + p[0])]


@settings(max_examples=200, deadline=None)
@given(touch_streams(), st.randoms())
def test_any_arrival_order_within_lateness_gives_the_batch_result(data, rnd):
    touches, delays = data
    batch = {row.touch.key: row for row in stitch(touches, JOURNEY).rows}
    arrived = arrival_order(touches, delays)
    streamed = stream(arrived + [rnd.choice(arrived)], JOURNEY)  # plus a redelivery
    assert streamed.late == []
    assert streamed.rows == batch


@settings(max_examples=200, deadline=None)
@given(touch_streams())
def test_every_touch_once_legal_stages_and_monotone_cycles(data):
    touches, _ = data
    rows = stitch(touches + touches[:3], JOURNEY).rows
    assert sorted(r.touch.key for r in rows) == sorted(t.key for t in touches)
    by_account = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(row)
    for account_rows in by_account.values():
        assert [r.seq for r in account_rows] == list(range(1, len(account_rows) + 1))
        previous = None
        for row in account_rows:
            restarted = row.is_reengagement and row.stage_before is not None and row.stage_before != "grow"
            assert is_legal(row.stage_before, row.touch.event_type, row.stage, restarted=restarted)
            assert row.stage_before == (previous.stage if previous else None)
            if previous is not None:
                assert row.cycle in (previous.cycle, previous.cycle + 1)
                assert row.touch.order > previous.touch.order
            previous = row


@settings(max_examples=300, deadline=None)
@given(touch_streams(), st.randoms())
def test_any_arrival_order_gives_the_batch_sla_breaches(data, rnd):
    touches, delays = data
    batch = {breach.lead_event_id: breach.to_row() for breach in stitch(touches, JOURNEY).breaches}
    arrived = arrival_order(touches, delays)
    rnd.shuffle(arrived)  # any order at all, with a lateness bound that keeps every touch off the late path
    streamed = stream(arrived, JourneySettings(dormancy_days=30, allowed_lateness_hours=24 * 365 * 5))
    assert streamed.late == []
    assert streamed.breaches == batch


def received(at):
    return {"received_at": at.isoformat()}


@st.composite
def touch_streams_with_copies(draw, retries_only=False):
    """Touches received at their event time, and copies of some that differ: each copy is received later (or
    says nothing of its receipt), with another event time and, unless ``retries_only``, other content. So the
    copy received first, the original, is the touch whichever order they come in (transforms.admission):
    the oracle is the batch result without the copies, no rule needed to pick them. ``retries_only``: copies
    as a tracker's retries make them, an earlier event time and the same content."""
    touches, _ = draw(touch_streams())
    originals = [t._replace(extra=received(t.occurred_at)) for t in touches]
    copies = []
    for original in originals:
        for _ in range(draw(st.integers(0, 2))):
            seconds = draw(st.integers(-3600, 0 if retries_only else 3600))
            later = draw(st.one_of(st.none(), st.integers(1, 10 ** 6)))
            extra = {} if later is None else received(original.occurred_at + timedelta(seconds=later))
            copy = original._replace(occurred_at=original.occurred_at + timedelta(seconds=seconds), extra=extra)
            if not retries_only and draw(st.booleans()):
                copy = copy._replace(campaign_id=draw(st.sampled_from(["c1", "c2"])), channel="email")
            copies.append(copy)
    return originals, copies


@settings(max_examples=200, deadline=None)
@given(touch_streams_with_copies(), st.randoms())
def test_copies_that_differ_give_the_batch_result_without_them_in_any_order(data, rnd):
    originals, copies = data
    expected = stitch(originals, JOURNEY)
    records = originals + copies
    rnd.shuffle(records)
    got = stitch(records, JOURNEY)
    assert {row.touch.key: row for row in got.rows} == {row.touch.key: row for row in expected.rows}
    assert [b.to_row() for b in got.breaches] == [b.to_row() for b in expected.breaches]


@settings(max_examples=200, deadline=None)
@given(touch_streams_with_copies(retries_only=True), st.randoms())
def test_the_stream_takes_the_copy_received_first_whenever_it_arrives(data, rnd):
    # A retry placed first is replaced on its journey when the original arrives (the stream keeps no content,
    # so copies alike in both times are left to the batch rule: tests/unit/test_admission.py).
    originals, copies = data
    batch = stitch(originals, JOURNEY)
    records = originals + copies
    rnd.shuffle(records)
    streamed = stream(records, JourneySettings(dormancy_days=30, allowed_lateness_hours=24 * 365 * 5))
    assert streamed.late == []
    assert streamed.rows == {row.touch.key: row for row in batch.rows}
    assert streamed.breaches == {b.lead_event_id: b.to_row() for b in batch.breaches}
