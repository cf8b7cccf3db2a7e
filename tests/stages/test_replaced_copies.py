"""A better copy of a touch arriving after a worse one landed (transforms.admission: received first wins): the
resolve and stitch stages withdraw the landed copy at its event date, and the land stage leaves exactly the
winning copy in ``touches`` and ``journey_touches``, on the same UTC day or another. Fake records, real stores
and a real Delta lake."""

from __future__ import annotations

from itertools import count

import pytest
from deltalake import DeltaTable

from sinks.lake import Lake
from streams import topics
from streams.runtime.records import Record
from streams.runtime.state import StateStore
from streams.stages.resolve_touches import ResolveTouches
from streams.stages.stitch_journeys import StitchJourneys
from tests.stages.fakes import Emitted, make_record
from tests.stages.test_land_stage import sink
from transforms.settings import JourneySettings

ORIGINAL = "2026-03-02T23:30:00+00:00"  # received first: the copy that wins
OFFSETS = count()


def copy(occurred_at: str, received_at: str) -> Record:
    return make_record({"event_id": "e1", "source": "segment:web", "event_type": "ad_click", "account_id": "acme",
                        "occurred_at": occurred_at, "received_at": received_at},
                       topic=topics.TOUCHES_RAW, offset=next(OFFSETS))


def landed(lake: Lake, table: str) -> list[tuple[str, str, str]]:
    return sorted((row["source"], row["event_id"], row["occurred_at"].isoformat())
                  for row in DeltaTable(lake.uri(table)).to_pyarrow_table().to_pylist())


@pytest.mark.parametrize("retry_at", ["2026-03-03T00:10:00+00:00",  # the retry's clock says the next UTC day
                                      "2026-03-02T23:50:00+00:00"])  # the same day
def test_a_better_copy_arriving_after_the_worse_one_landed_leaves_only_the_better_row(tmp_path, retry_at):
    settings = JourneySettings()
    resolve, stitch = ResolveTouches(settings), StitchJourneys(settings)
    resolve.open(0, StateStore(tmp_path / "resolve"))
    stitch.open(0, StateStore(tmp_path / "stitch"))
    lake = Lake(str(tmp_path / "lake"))
    landing, _ = sink(lake)

    def run(message: Record) -> dict[str, list[dict[str, object]]]:
        """One raw record through resolve, stitch and a landing of its own."""
        resolved = Emitted()
        resolve.apply(0, message, resolved)
        placed = Emitted()
        for value in resolved.values(topics.TOUCHES_BY_ACCOUNT):
            stitch.apply(0, make_record(value, topic=topics.TOUCHES_BY_ACCOUNT), placed)
        for emitted in (resolved, placed):
            for topic in (topics.TOUCHES_VALID, topics.JOURNEY_TOUCHES):
                for _, value in emitted.by_topic[topic]:
                    landing.take(make_record(value, topic=topic, offset=next(OFFSETS)))
        landing.flush()
        return {topic: resolved.values(topic) + placed.values(topic)
                for topic in (topics.TOUCHES_VALID, topics.JOURNEY_TOUCHES)}

    run(copy(retry_at, "2026-03-03T00:10:05+00:00"))  # the retry reaches the collector (and lands) first
    assert landed(lake, "touches") == landed(lake, "journey_touches") == [("segment:web", "e1", retry_at)]

    emitted = run(copy(ORIGINAL, "2026-03-02T23:30:01+00:00"))
    for topic in (topics.TOUCHES_VALID, topics.JOURNEY_TOUCHES):  # the withdrawal first, at the retry's time
        assert [(v.get("retracted"), v["occurred_at"]) for v in emitted[topic]][:1] == [(True, retry_at[:19] + "Z")]
    assert landed(lake, "touches") == landed(lake, "journey_touches") == [("segment:web", "e1", ORIGINAL)]

    run(copy(retry_at, "2026-03-03T00:10:05+00:00"))  # the retry again: ranks no better, changes nothing
    assert landed(lake, "touches") == landed(lake, "journey_touches") == [("segment:web", "e1", ORIGINAL)]


def test_a_withdrawal_and_the_new_row_in_one_batch_land_in_one_commit(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    landing, _ = sink(lake)
    old = {"source": "segment:web", "event_id": "e1", "event_type": "ad_click", "account_id": "acme",
           "occurred_at": "2026-03-03T00:10:00Z"}
    landing.take(make_record(old, topic=topics.TOUCHES_VALID, offset=0))
    landing.flush()
    version = lake.version("touches")
    for offset, record in enumerate([{"source": "segment:web", "event_id": "e1", "occurred_at": old["occurred_at"],
                                      "retracted": True}, {**old, "occurred_at": "2026-03-02T23:30:00Z"}], 1):
        landing.take(make_record(record, topic=topics.TOUCHES_VALID, offset=offset))
    landing.flush()
    assert lake.version("touches") == version + 1
    assert landed(lake, "touches") == [("segment:web", "e1", ORIGINAL)]
