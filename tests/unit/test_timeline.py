"""The drill-down's stage bands, dormant gaps and re-engagements."""

from datetime import UTC, datetime, timedelta

from transforms.timeline import TimelineTouch, dormant_gaps, reengagements, stage_bands


def day(n: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)


JOURNEY = [
    TimelineTouch(day(0), "find", 1, False),
    TimelineTouch(day(3), "find", 1, False),
    TimelineTouch(day(10), "engage", 1, False),
    TimelineTouch(day(20), "close", 1, False),
    TimelineTouch(day(200), "find", 2, True),  # back after 180 silent days: a new cycle
    TimelineTouch(day(210), "find", 2, False),
]


def test_bands_follow_stage_and_cycle_changes():
    bands = stage_bands(JOURNEY, until=day(220))
    assert [(b.label, b.start, b.end) for b in bands] == [
        ("find", day(0), day(10)), ("engage", day(10), day(20)), ("close", day(20), day(200)),
        ("find", day(200), day(220))]


def test_same_stage_in_a_new_cycle_is_a_new_band():
    touches = [TimelineTouch(day(0), "find", 1, False), TimelineTouch(day(100), "find", 2, True)]
    assert [b.start for b in stage_bands(touches)] == [day(0), day(100)]
    assert stage_bands(touches)[-1].days == 0


def test_gaps_at_least_the_dormancy_and_reengagements():
    assert [(g.start, g.end, g.days) for g in dormant_gaps(JOURNEY, timedelta(days=90))] == [(day(20), day(200), 180)]
    assert dormant_gaps(JOURNEY, timedelta(days=181)) == []
    assert reengagements(JOURNEY) == [day(200)]


def test_empty_journey():
    assert stage_bands([]) == [] and dormant_gaps([], timedelta(days=1)) == [] and reengagements([]) == []
