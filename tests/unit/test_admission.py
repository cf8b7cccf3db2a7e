"""Admission, the one step the resolve stage and ``touchline stitch`` take a validated touch through."""

from __future__ import annotations

import json

from schemas.touch import parse_touch
from transforms.admission import AllKeys, admit, dedupe
from transforms.privacy import pseudonymize_email


def event(event_id: str, email: str | None = "Ana@Acme.example", occurred_at: str = "2026-03-02T09:00:00Z"):
    return parse_touch(json.dumps({"event_id": event_id, "source": "crm", "event_type": "form_fill",
                                   "occurred_at": occurred_at, "email": email, "account_id": "acme"}))


def test_the_address_is_pseudonymized_with_a_salt_and_kept_without_one():
    assert admit(event("a"), "pepper", AllKeys()).email == pseudonymize_email("ana@acme.example", "pepper")
    assert admit(event("a"), None, AllKeys()).email == "Ana@Acme.example"
    assert admit(event("a", email=None), "pepper", AllKeys()).email is None


def test_the_first_copy_of_an_event_is_admitted_whatever_the_later_copies_say():
    seen = AllKeys()
    first = admit(event("a"), "pepper", seen)
    assert admit(event("a", occurred_at="2026-03-05T09:00:00Z"), "pepper", seen) is None
    assert admit(event("b"), "pepper", seen) is not None
    assert [t.occurred_at for t in dedupe([first, admit(event("a", occurred_at="2026-03-05T09:00:00Z"), None,
                                                        AllKeys())])] == [first.occurred_at]
