"""The stage state store: atomic checkpoints, a bounded cache, a bounded dedupe memory, durable copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.runtime.checkpoints import DurableCheckpoints
from streams.runtime.state import Position, RecentKeys, StateStore
from transforms.admission import Offer, content_digest
from transforms.types import Touch

DAY = timedelta(days=1)
START = datetime(2026, 1, 1, tzinfo=UTC)


def contents(store: StateStore, *tables: str) -> dict[str, dict[object, object]]:
    return {name: dict(store.table(name).items()) for name in tables}


def test_a_checkpoint_saves_every_change_with_the_position_and_nothing_after_it(tmp_path):
    store = StateStore(tmp_path / "db")
    roots, seen = store.table("roots"), store.table("seen")
    roots["anon:1"] = "anon:1"
    roots["user:2"] = "anon:1"
    seen[("segment:web", "m-1")] = START
    store.set_value("deadlines", [(START, "acme", "lead-1")])
    store.checkpoint(Position("topic-a", 42))
    del roots["user:2"]  # after the checkpoint: lost with the process
    roots["email:x@y.com"] = "anon:1"
    store.close()

    reopened = StateStore(tmp_path / "db")
    assert reopened.position == Position("topic-a", 42)
    assert contents(reopened, "roots", "seen") == {
        "roots": {"anon:1": "anon:1", "user:2": "anon:1"}, "seen": {("segment:web", "m-1"): START}}
    assert reopened.value("deadlines") == [(START, "acme", "lead-1")]


def test_keys_that_look_alike_stay_apart(tmp_path):
    table = StateStore(tmp_path / "db").table("seen")
    table[("a\x1fb", "c")] = 1
    table[("a", "b\x1fc")] = 2
    table["\x01plain"] = 3
    assert (table[("a\x1fb", "c")], table[("a", "b\x1fc")]) == (1, 2)
    assert sorted(map(str, table)) == sorted(map(str, [("a\x1fb", "c"), ("a", "b\x1fc"), "\x01plain"]))


def test_the_cache_keeps_a_bounded_number_of_entries_and_reads_the_rest_from_disk(tmp_path):
    store = StateStore(tmp_path / "db", cache_entries=1_000)
    journeys = store.table("journeys")
    for i in range(20_000):
        journeys[f"account-{i}"] = ("journey", i)
        if i % 5_000 == 4_999:
            store.checkpoint(Position("t", i))
    assert len(journeys._cache) <= 1_000
    assert journeys["account-7"] == ("journey", 7) and journeys.get("account-20000") is None
    assert len(journeys) == 20_000


def copy(event_id: str, at: datetime, received: datetime | None = None) -> Touch:
    return Touch(event_id, "s", "site_visit", at, extra={"received_at": received.isoformat()} if received else {})


def test_recent_keys_catch_repeats_within_the_window_and_forget_older_ones(tmp_path):
    store = StateStore(tmp_path / "db")
    seen = RecentKeys(store, "seen", DAY)
    assert seen.offer(copy("a", START)) is Offer.NEW
    assert seen.offer(copy("a", START)) is Offer.SEEN  # a repeat
    for hour in range(1, 24 * 30):  # a month of one key an hour
        assert seen.offer(copy(f"k{hour}", START + timedelta(hours=hour))) is Offer.NEW
        store.checkpoint(Position("t", hour))
    assert seen.offer(copy("k100", START + timedelta(hours=100))) is Offer.NEW  # older than the window: passed on
    assert seen.offer(copy(f"k{24 * 30 - 2}", START + timedelta(hours=24 * 30 - 2))) is Offer.SEEN
    store.checkpoint(Position("t", 10_000))
    assert len(seen) <= 26  # one day of keys, by the hour


def test_recent_keys_rank_copies_by_receipt_then_event_time_and_forget_a_copy_past_the_window(tmp_path):
    store = StateStore(tmp_path / "db")
    seen = RecentKeys(store, "seen", DAY)
    at = START + timedelta(hours=30)
    assert seen.offer(copy("a", at, received=at + timedelta(minutes=10))) is Offer.NEW  # a retry came first
    store.checkpoint(Position("t", 1))
    assert seen.offer(copy("a", at + timedelta(seconds=40), received=at)) is Offer.BETTER  # the original
    assert seen.offer(copy("a", at - timedelta(seconds=5), received=at + timedelta(minutes=10))) is Offer.SEEN
    assert seen.offer(copy("a", at - timedelta(hours=1))) is Offer.SEEN  # no receipt time: after every copy with one
    # the key's admitted copy falls past the window: a copy inside it is new, whether or not a checkpoint ran
    assert seen.offer(copy("late", at)) is Offer.NEW
    assert seen.offer(copy("z", at + timedelta(days=1, hours=2))) is Offer.NEW
    assert seen.offer(copy("late", at + timedelta(days=1, hours=1, seconds=1))) is Offer.NEW
    store.checkpoint(Position("t", 2))
    assert seen.offer(copy("a", at + timedelta(days=1, hours=1))) is Offer.NEW


def test_recent_keys_answer_the_same_after_a_restart(tmp_path):
    store = StateStore(tmp_path / "db")
    seen = RecentKeys(store, "seen", DAY)
    seen.offer(copy("a", START, received=START))
    seen.offer(copy("b", START + timedelta(hours=5)))
    store.checkpoint(Position("t", 2))
    store.close()
    reopened = StateStore(tmp_path / "db")
    seen = RecentKeys(reopened, "seen", DAY)
    assert seen.watermark == START + timedelta(hours=5)
    assert seen.offer(copy("a", START, received=START)) is Offer.SEEN
    assert seen.offer(copy("a", START - timedelta(seconds=1), received=START)) is Offer.BETTER
    assert seen.offer(copy("c", START)) is Offer.NEW


def test_recent_keys_rank_copies_alike_in_both_times_by_their_content_digest_across_a_restart(tmp_path):
    # a CRM export twice, no receipt time: the copy with the least digest wins whichever came first
    copies = [Touch("a", "s", "site_visit", START, campaign_id=campaign) for campaign in ("c-1", "c-2")]
    best, worse = sorted(copies, key=content_digest)
    for first, second, answer in ((worse, best, Offer.BETTER), (best, worse, Offer.SEEN)):
        store = StateStore(tmp_path / answer.value)
        assert RecentKeys(store, "seen", DAY).offer(first) is Offer.NEW
        store.checkpoint(Position("t", 1))
        store.close()
        assert RecentKeys(StateStore(tmp_path / answer.value), "seen", DAY).offer(second) is answer


def test_a_durable_copy_restores_the_saved_state_and_only_the_newest_copies_stay(tmp_path):
    store = StateStore(tmp_path / "db")
    durable = DurableCheckpoints(tmp_path / "lake", "touchline-stitch-journeys", keep=2)
    assert durable.save(store, "touches-by-account-v1", 3) is None  # nothing saved yet: no copy
    for offset in (10, 20, 30):
        store.table("journeys")[f"acct-{offset}"] = offset
        store.checkpoint(Position("topic-a", offset))
        durable.save(store, "touches-by-account-v1", 3)
    copies = durable.copies("touches-by-account-v1", 3)
    assert [c.position for c in copies] == [Position("topic-a", 20), Position("topic-a", 30)]
    durable.restore(copies[-1], tmp_path / "elsewhere" / "db")
    restored = StateStore(tmp_path / "elsewhere" / "db")
    assert restored.position == Position("topic-a", 30)
    assert contents(restored, "journeys") == contents(store, "journeys")


def test_a_store_of_another_format_is_refused(tmp_path, monkeypatch):
    store = StateStore(tmp_path / "db")
    store.checkpoint(Position("t", 1))
    store.close()
    monkeypatch.setattr("streams.runtime.state.STATE_FORMAT", 99)
    with pytest.raises(ValueError, match="format 1"):
        StateStore(tmp_path / "db")
