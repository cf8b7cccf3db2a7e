"""The resolve stage with fake records on its real state store: admission (pseudonymized, first copy only),
dead letters with their reason, identity resolution and the release of anonymous touches."""

from __future__ import annotations

import base64

from streams import topics
from streams.runtime.records import Record
from streams.runtime.state import Position, StateStore
from streams.stages.resolve_touches import ResolveTouches
from tests.stages.fakes import Emitted, make_record
from transforms.privacy import pseudonymize_email
from transforms.settings import JourneySettings


def raw(offset: int, **fields: object) -> Record:
    touch = {"source": "segment:web", "occurred_at": f"2026-03-02T{9 + offset:02d}:00:00Z", **fields}
    return make_record(touch, topic=topics.TOUCHES_RAW, offset=offset)


def opened(path, salt=None) -> ResolveTouches:
    stage = ResolveTouches(JourneySettings(), salt)
    stage.open(0, StateStore(path))
    return stage


def test_an_address_is_pseudonymized_before_anything_leaves_and_a_repeat_is_dropped(tmp_path):
    stage, emitted = opened(tmp_path / "db", salt="pepper"), Emitted()
    fill = raw(0, event_id="f1", event_type="form_fill", email="Ana@Acme.example", account_id="acme")
    stage.apply(0, fill, emitted)
    stage.apply(0, fill, emitted)
    pseudonym = pseudonymize_email("ana@acme.example", "pepper")
    assert [t["email"] for t in emitted.values(topics.TOUCHES_VALID)] == [pseudonym]
    assert [(key, m["account_id"], m["touch"]["email"]) for key, m in emitted.by_topic[topics.TOUCHES_BY_ACCOUNT]] == [
        (b"acme", "acme", pseudonym)]
    assert "ana@" not in str(dict(emitted.by_topic)).lower()


def test_a_bad_record_goes_to_the_dead_letters_naming_the_field_and_the_next_one_goes_on(tmp_path):
    stage, emitted = opened(tmp_path / "db"), Emitted()
    stage.apply(0, raw(0, event_id="bad", event_type="site_visit", anonymous_id="a1", amount="lots"), emitted)
    stage.apply(0, raw(1, event_id="ok", event_type="site_visit", account_id="acme"), emitted)
    [(key, letter)] = emitted.by_topic[topics.TOUCHES_DLQ]
    assert key == f"{topics.TOUCHES_RAW}-0-0".encode() and stage.invalid == 1
    assert "amount" in letter["reason"] and [e["field"] for e in letter["errors"]] == ["amount"]
    assert b'"event_id": "bad"' in base64.b64decode(letter["raw_base64"])
    assert [t["event_id"] for t in emitted.values(topics.TOUCHES_VALID)] == ["ok"]


def test_anonymous_visits_wait_until_an_identity_call_ties_them_to_an_account(tmp_path):
    stage, emitted = opened(tmp_path / "db"), Emitted()
    stage.apply(0, raw(0, event_id="v1", event_type="site_visit", anonymous_id="anon-7"), emitted)
    stage.apply(0, raw(1, event_id="id1", event_type="identify", anonymous_id="anon-7", email="bo@globex.example"),
                emitted)  # a person, not yet an account: still waiting
    assert emitted.values(topics.TOUCHES_BY_ACCOUNT) == [] and len(emitted.values(topics.TOUCHES_VALID)) == 2
    stage.apply(0, raw(2, event_id="g1", event_type="group", email="bo@globex.example", account_id="globex"), emitted)
    # the waiting visit is released to the account; identity calls make no journey touch
    assert [(m["account_id"], m["touch"]["event_id"]) for m in emitted.values(topics.TOUCHES_BY_ACCOUNT)] == [
        ("globex", "v1")]


def test_the_dedupe_memory_and_the_waiting_touches_survive_a_restart(tmp_path):
    stage, store, emitted = ResolveTouches(JourneySettings()), StateStore(tmp_path / "db"), Emitted()
    stage.open(0, store)
    visit = raw(0, event_id="v1", event_type="site_visit", anonymous_id="anon-7")
    stage.apply(0, visit, emitted)
    stage.save(0)
    store.checkpoint(Position(topics.TOUCHES_RAW, 1))
    stage.close(0)
    store.close()

    stage, emitted = opened(tmp_path / "db"), Emitted()
    stage.apply(0, visit, emitted)  # a repeat from before the restart
    assert emitted.by_topic == {}
    stage.apply(0, raw(1, event_id="id1", event_type="identify", anonymous_id="anon-7", account_id="initech"), emitted)
    assert [m["touch"]["event_id"] for m in emitted.values(topics.TOUCHES_BY_ACCOUNT)] == ["v1"]
