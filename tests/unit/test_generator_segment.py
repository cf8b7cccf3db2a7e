"""The generator's Segment output: skewed device clocks are corrected back to the true time."""

import random
from datetime import datetime

from schemas import segment
from schemas.touch import TouchEvent
from transforms.generator import GeneratorSettings, generate, segment_call
from transforms.stitching import stitch
from transforms.types import Touch, to_touch


def test_skewed_segment_calls_stitch_like_the_touches_they_came_from():
    emitted = [e for e in generate(GeneratorSettings(accounts=150, seed=4)) if not e.malformed]
    rng = random.Random(1)
    calls = [segment_call(e.record, rng, skew_rate=0.5) for e in emitted]
    skewed = sum(c["originalTimestamp"] != e.record["occurred_at"] for c, e in zip(calls, emitted, strict=True))
    assert skewed > len(calls) / 3

    # Each call as a collector gets it: at its receiveAt, by the collector's own clock.
    converted = [segment.convert(call, source="generator", received_at=datetime.fromisoformat(call["receivedAt"]))
                 for call in calls]
    assert all(isinstance(t, TouchEvent) for t in converted), [t for t in converted if isinstance(t, list)][:3]
    from_segment = {r.touch.event_id: (r.account_id, r.stage, r.cycle, r.seq, r.touch.occurred_at)
                    for r in stitch([to_touch(t) for t in converted]).rows}
    from_touches = {r.touch.event_id: (r.account_id, r.stage, r.cycle, r.seq, r.touch.occurred_at)
                    for r in stitch([Touch.from_wire(e.record) for e in emitted]).rows}
    assert from_segment == from_touches
