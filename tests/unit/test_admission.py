"""Admission, the one step the resolve stage and ``touchline stitch`` take a validated touch through."""

from __future__ import annotations

import hashlib
import json
from itertools import permutations

from schemas.touch import parse_touch
from transforms.admission import CONTENT_FIELDS, AllCopies, Offer, admit, dedupe
from transforms.privacy import pseudonymize_email
from transforms.types import to_touch


def event(event_id: str, email: str | None = "Ana@Acme.example", occurred_at: str = "2026-03-02T09:00:00Z",
          received_at: str | None = None, **fields):
    record = {"event_id": event_id, "source": "crm", "event_type": "form_fill", "occurred_at": occurred_at,
              "email": email, "account_id": "acme", "received_at": received_at, **fields}
    return parse_touch(json.dumps({k: v for k, v in record.items() if v is not None}))


def test_the_address_is_pseudonymized_with_a_salt_and_kept_without_one():
    assert admit(event("a"), "pepper", AllCopies()).email == pseudonymize_email("ana@acme.example", "pepper")
    assert admit(event("a"), None, AllCopies()).email == "Ana@Acme.example"
    assert admit(event("a", email=None), "pepper", AllCopies()).email is None


# A tracking library's retry: the original reached the collector at 09:00:05, the retry at 09:10:00 with a
# new sentAt, so the clock correction put the retry 40 s earlier in event time.
ORIGINAL = event("a", occurred_at="2026-03-02T09:00:00Z", received_at="2026-03-02T09:00:05Z")
RETRY = event("a", occurred_at="2026-03-02T08:59:20Z", received_at="2026-03-02T09:10:00Z")


def test_the_copy_received_first_is_the_touch_in_either_arrival_order():
    for copies in ([ORIGINAL, RETRY], [RETRY, ORIGINAL]):
        [kept] = dedupe(to_touch(e) for e in copies)
        assert kept.occurred_at.isoformat() == "2026-03-02T09:00:00+00:00"  # the original's, by hand


def test_a_later_copy_that_ranks_better_is_admitted_and_one_that_does_not_is_dropped():
    seen = AllCopies(by_content=False)
    assert seen.offer(to_touch(RETRY)) is Offer.NEW
    assert seen.offer(to_touch(ORIGINAL)) is Offer.BETTER  # received earlier: takes the retry's place
    assert seen.offer(to_touch(RETRY)) is Offer.SEEN
    assert seen.offer(to_touch(ORIGINAL)) is Offer.SEEN  # a redelivery of the admitted copy
    assert admit(RETRY, None, seen) is None


def test_without_receipt_times_the_earliest_event_time_wins_and_a_copy_with_one_beats_every_copy_without():
    late = event("b", occurred_at="2026-03-02T10:00:00Z")
    early = event("b", occurred_at="2026-03-02T09:00:00Z")
    received = event("b", occurred_at="2026-03-02T11:00:00Z", received_at="2026-03-02T11:00:01Z")
    for order in permutations([late, early]):
        assert [t.occurred_at.hour for t in dedupe(to_touch(e) for e in order)] == [9]
    for order in permutations([late, early, received]):
        assert [t.occurred_at.hour for t in dedupe(to_touch(e) for e in order)] == [11]


def test_copies_alike_in_both_times_are_chosen_by_their_content_digest_by_every_runner_in_any_order():
    # Same receipt and event time (a CRM export says nothing of receipt), different campaign: the copy with
    # the least digest of its content is the touch, for the batch and for the stream, which remembers it.
    one = event("c", campaign_id="c-2")
    other = event("c", campaign_id="c-1")
    missing = event("c")
    copies = [one, other, missing]

    def digest(e):  # by hand: 8 bytes of BLAKE2b over the content values, JSON objects as their text
        wire = e.to_wire()
        values = [json.dumps(v, sort_keys=True) if isinstance(v := wire.get(name), dict) else v
                  for name in CONTENT_FIELDS]
        return hashlib.blake2b(json.dumps(values).encode(), digest_size=8).digest()

    best = min(copies, key=digest)
    assert len({digest(e) for e in copies}) == 3
    for order in permutations(copies):
        assert dedupe(to_touch(e) for e in order) == [to_touch(best)]
        stream = AllCopies(by_content=False)
        admitted = [t for e in order if (t := admit(e, None, stream)) is not None]
        assert admitted[-1] == to_touch(best)  # the last copy admitted replaced the others


def test_distinct_events_are_all_kept_in_the_order_they_first_appear():
    touches = [to_touch(event(i)) for i in ("x", "y", "x", "z")]
    assert [t.event_id for t in dedupe(touches)] == ["x", "y", "z"]
