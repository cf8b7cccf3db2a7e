"""The land stage with fake records and a real Delta lake: one commit per topic recording the offsets it
landed, a redelivery that duplicates nothing, a salt and the suppression list applied as rows land."""

from __future__ import annotations

import base64

from deltalake import DeltaTable

from sinks.lake import Lake, stream_app_id
from sinks.privacy import forget
from streams import topics
from streams.runtime.records import Record, dead_letter
from streams.settings import Settings
from streams.stages.land_journeys import TOPIC_TABLES, LakeSink
from tests.stages.fakes import make_record
from transforms.privacy import pseudonymize_email

TOPIC_ID = "topic-id-1"  # what the broker would say the topic's id is


def sink(lake: Lake, **settings: str) -> tuple[LakeSink, list[set[str]]]:
    told: list[set[str]] = []
    kafka = Settings(lake_compact_seconds=0, **settings)
    landing = LakeSink("unused:9092", kafka, kafka.lake_settings(lake.root), on_landed=told.append)
    landing.topic_ids = dict.fromkeys(TOPIC_TABLES, TOPIC_ID)
    return landing, told


def touch(event_id: str, offset: int, email: str = "ana@acme.example") -> Record:
    return make_record({"event_id": event_id, "source": "segment:web", "event_type": "form_fill", "email": email,
                        "account_id": "acme", "occurred_at": "2026-03-02T09:00:00Z"},
                       topic=topics.TOUCHES_VALID, partition=1, offset=offset)


def rows(lake: Lake, table: str) -> list[dict[str, object]]:
    return sorted(DeltaTable(lake.uri(table)).to_pyarrow_table().to_pylist(), key=lambda row: str(row))


def test_each_topic_lands_in_one_commit_with_its_offsets_and_a_redelivery_duplicates_nothing(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    landing, told = sink(lake)
    bad = b'{"event_id": "x", "amount": "lots"}'
    _, value = dead_letter(bad, [], topics.TOUCHES_RAW, 0, 7, None)
    for message in (touch("t1", 40), touch("t2", 41), make_record(value, topic=topics.TOUCHES_DLQ, offset=3)):
        landing.take(message)
    assert landing.buffered == 3 and not landing.due()  # neither full nor old yet
    landing.flush()
    assert told == [{"touches", "dead_letters"}] and landing.buffered == 0
    assert lake.landed("touches", stream_app_id(topics.TOUCHES_VALID, 1, TOPIC_ID)) == 41
    assert lake.landed("dead_letters", stream_app_id(topics.TOUCHES_DLQ, 0, TOPIC_ID)) == 3
    assert lake.version("touches") == 1  # created, then one commit

    again, _ = sink(lake)  # a restart before Kafka heard of the commit: the same records again
    again.take(touch("t2", 41))
    again.flush()
    assert [row["event_id"] for row in rows(lake, "touches")] == ["t1", "t2"]


def test_a_salt_scrubs_dead_letters_and_a_forgotten_person_lands_without_identifiers(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    landing, _ = sink(lake, email_hash_salt="pepper", suppression_key="secret")
    raw = b'{"event_id": "x", "email": "bo@globex.example", "amount": "lots"}'
    _, value = dead_letter(raw, [], topics.TOUCHES_RAW, 0, 8, None)
    landing.take(make_record(value, topic=topics.TOUCHES_DLQ, offset=4))
    landing.take(touch("t1", 1))
    landing.flush()
    [letter] = rows(lake, "dead_letters")
    assert b"bo@globex" not in base64.b64decode(letter["raw_base64"]) and "bo@globex" not in letter["raw_text"]
    assert pseudonymize_email("bo@globex.example", "pepper") in letter["raw_text"]

    forget(lake, "email", "ana@acme.example", key="secret", requested_by="test")
    landing.take(touch("t2", 2))  # sent again after the erasure: lands, but not as a person
    landing.flush()
    assert [(row["event_id"], row["email"]) for row in rows(lake, "touches")] == [("t1", None), ("t2", None)]
