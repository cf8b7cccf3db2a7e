"""The engine against the simulator's own story, touch by touch."""

from collections import Counter

import pytest

from transforms.generator import GeneratorSettings, generate
from transforms.stitching import stitch, stream
from transforms.types import Touch


@pytest.fixture(scope="module")
def population():
    emitted = list(generate(GeneratorSettings(accounts=1000, seed=11, days=730, late_rate=0.2, duplicate_rate=0.05,
                                              invalid_rate=0.01)))
    touches = [Touch.from_wire(e.record) for e in emitted if not e.malformed]
    truth = {e.truth.event_id: e.truth for e in emitted if e.truth}
    return touches, truth


def test_engine_reproduces_ground_truth_for_1000_accounts(population):
    touches, truth = population
    result = stitch(touches)
    rows = {r.touch.event_id: r for r in result.rows}
    unresolved = {t.event_id for t in result.unresolved}
    mismatches = Counter()
    for event_id, expected in truth.items():
        if expected.account_id is None:
            mismatches["should be unresolved"] += event_id not in unresolved
            continue
        row = rows.get(event_id)
        if row is None:
            mismatches["missing"] += 1
            continue
        got = (row.account_id, row.stage, row.cycle, row.is_reengagement)
        mismatches["wrong"] += got != (expected.account_id, expected.stage, expected.cycle, expected.is_reengagement)
    assert +mismatches == Counter()
    assert len(rows) == sum(1 for t in truth.values() if t.account_id)
    assert {r.stage for r in rows.values()} == {"find", "engage", "close", "grow"}
    assert max(r.cycle for r in rows.values()) >= 3
    assert sum(r.is_reengagement for r in rows.values()) > 50


def test_population_exercises_every_rule(population):
    touches, truth = population
    kinds = Counter(t.event_type for t in touches)
    for kind in ("identify", "group", "closed_won", "closed_lost", "renewal", "upsell", "churn", "lead_accepted",
                 "lead_rejected", "lead_recycled", "lead_disqualified"):
        assert kinds[kind] > 0, kind
    assert sum(1 for t in truth.values() if t.account_id is None) > 50


def test_stream_with_late_and_duplicate_arrivals_ends_like_the_batch(population):
    touches, _ = population
    batch = {r.touch.key: r for r in stitch(touches).rows}
    streamed = stream(touches)
    assert streamed.late == []
    assert streamed.rows == batch
