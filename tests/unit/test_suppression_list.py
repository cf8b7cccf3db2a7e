"""The suppression list is keyed with a secret kept outside the lake: it cannot be tested against guesses."""

from __future__ import annotations

import hashlib
import json

import pytest

from sinks.lake import Lake
from sinks.privacy import AUDIT_FILE, SUPPRESSION_FILE, SuppressionKeyError, forget, load_suppressions
from transforms.privacy import identifier_digest

KEY = "a secret of the operator's"


def _plain(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()  # what anyone can compute from a guess


def test_forget_keeps_keyed_entries_that_a_guess_cannot_find(tmp_path):
    lake = Lake(tmp_path / "lake")
    record = forget(lake, "email", "Ann@Acme.com", key=KEY, requested_by="dpo")
    text = (lake.storage.read_bytes(*SUPPRESSION_FILE) or b"").decode()
    audit = (lake.storage.read_bytes(*AUDIT_FILE) or b"").decode()
    for guess in (_plain("email", "ann@acme.com"), identifier_digest("email", "ann@acme.com"), "ann@acme.com"):
        assert guess not in text and guess not in audit and guess not in json.dumps(record)
    suppressions = load_suppressions(lake, KEY)
    assert suppressions.matches({"email": " ANN@acme.com"}) and not suppressions.matches({"email": "bo@acme.com"})
    assert not load_suppressions(lake, KEY).matches({"user_id": "ann@acme.com"})  # kinds stay apart


def test_a_list_of_plain_digests_is_keyed_in_place_with_its_audit_log(tmp_path):
    lake = Lake(tmp_path / "lake")
    plain = [_plain("email", "ann@acme.com"), _plain("anonymous_id", "anon-7")]
    lake.storage.write_bytes(json.dumps(plain).encode(), *SUPPRESSION_FILE)
    lake.storage.write_bytes((json.dumps({"action": "forget", "identifiers": [f"email:{plain[0]}"]}) + "\n").encode(),
                             *AUDIT_FILE)
    assert load_suppressions(lake, None).matches({"anonymous_id": "anon-7"})  # no key yet: still honoured
    suppressions = load_suppressions(lake, KEY)
    assert suppressions.matches({"anonymous_id": "anon-7"}) and suppressions.matches({"email": "ann@acme.com"})
    migrated = (lake.storage.read_bytes(*SUPPRESSION_FILE) or b"") + (lake.storage.read_bytes(*AUDIT_FILE) or b"")
    assert not any(digest.encode() in migrated for digest in plain)
    assert load_suppressions(lake, KEY) == suppressions  # keyed once: reading again changes nothing


def test_a_keyed_list_refuses_a_process_without_its_key(tmp_path):
    lake = Lake(tmp_path / "lake")
    forget(lake, "user_id", "u-1", key=KEY, requested_by="dpo")
    with pytest.raises(SuppressionKeyError, match="not the key"):
        load_suppressions(lake, "another key")
    with pytest.raises(SuppressionKeyError, match="set TOUCHLINE_SUPPRESSION_KEY"):
        load_suppressions(lake, None)

