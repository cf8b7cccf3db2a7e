"""Pseudonymous e-mails, suppression and the person closure behind `touchline forget`."""

import json

from transforms.privacy import (
    PERSON_FIELDS,
    Suppressions,
    identifier_digest,
    person_identifiers,
    pseudonymize,
    pseudonymize_email,
    pseudonymize_text,
)


def test_pseudonym_keeps_the_domain_and_is_stable_per_salt():
    first = pseudonymize_email("Ann.Lee@Acme.com", "s3cret")
    assert first.endswith("@acme.com") and "ann" not in first
    assert first == pseudonymize_email("ann.lee@acme.com", "s3cret")  # case does not make two people
    assert first != pseudonymize_email("ann.lee@acme.com", "other")
    assert pseudonymize_email(first, "s3cret") == first  # idempotent: a second pass changes nothing
    assert pseudonymize_email("not-an-address", "s3cret") == "not-an-address"


def test_pseudonymize_record_and_text():
    record = {"event_id": "e1", "email": "bo@initech.io", "user_id": "u1"}
    assert pseudonymize(record, None) == record
    assert pseudonymize(record, "k")["email"] == pseudonymize_email("bo@initech.io", "k")
    text = '{"email": "bo@initech.io", "cc": "al@x.org"}'
    scrubbed = pseudonymize_text(text, "k")
    assert "bo@" not in scrubbed and "al@" not in scrubbed and "@initech.io" in scrubbed


ANN = "ann@acme.com"


def test_escaped_and_non_ascii_addresses_in_text_are_pseudonymized_as_the_plain_address():
    cases = {  # text as a dead letter's raw bytes or a free-form field may hold it -> the address it writes
        '{"email": "ann\\u0040acme.com"}': ANN,  # JSON's escape of @
        "https://acme.com/p?e=ann%40acme.com&x=1": ANN,  # a URL's
        "https://acme.com/p?x=1%26e%3Dann%40acme.com": ANN,  # escaped delimiters before it stay outside it
        '"\\u0022ann@acme.com\\u0022"': ANN,
        "o'brien@acme.com": "o'brien@acme.com",  # RFC 5322 atext
        "'ann@acme.com'": ANN,  # quoted, not a quote in the address
        "jörg.m@acme.de": "jörg.m@acme.de",  # RFC 6531: any script
        '"j\\u00f6rg.m@acme.de"': "jörg.m@acme.de",
        "j%C3%B6rg.m%40acme.de": "jörg.m@acme.de",
        "mailto:Ann+Tag@ACME.com": "ann+tag@acme.com",
    }
    for text, address in cases.items():
        scrubbed = pseudonymize_text(text, "k")
        assert pseudonymize_email(address, "k") in scrubbed, text
        for clear in ("ann", "brien", "rg.m", "00f6", "%40", "\\u0040", "tag"):
            assert clear not in scrubbed.lower(), (text, scrubbed)
    pseudonym = pseudonymize_email(ANN, "k")
    assert pseudonymize_text(f"to {pseudonym}", "k") == f"to {pseudonym}"  # never hashed twice


def test_free_form_fields_are_pseudonymized_keys_and_values():
    record = {"event_id": "e1", "email": ANN, "user_id": "u1", "disposition_note": "call ann@acme.com",
              "utm": {"utm_content": "ann%40acme.com"},
              "properties": {"url": "https://acme.com/?e=ann%40acme.com", "ann@acme.com": [{"cc": "bo@acme.com"}],
                             "n": 3}}
    scrubbed = pseudonymize(record, "k")
    pseudonym = pseudonymize_email(ANN, "k")
    assert scrubbed["disposition_note"] == f"call {pseudonym}"
    assert scrubbed["utm"] == {"utm_content": pseudonym}
    assert scrubbed["properties"] == {"url": f"https://acme.com/?e={pseudonym}",
                                      pseudonym: [{"cc": pseudonymize_email("bo@acme.com", "k")}], "n": 3}
    assert scrubbed["user_id"] == "u1" and pseudonymize(record, None) == record


def test_suppressions_redact_only_matching_records():
    suppressions = Suppressions(frozenset({identifier_digest("anonymous_id", "a1")}))
    hit = {"event_id": "e1", "anonymous_id": "a1", "email": "x@y.com", "properties": "{}", "amount": 5.0}
    miss = {"event_id": "e2", "anonymous_id": "a2"}
    redacted = suppressions.redact(hit)
    assert all(redacted[f] is None for f in PERSON_FIELDS) and redacted["properties"] is None
    assert redacted["amount"] == 5.0 and redacted["event_id"] == "e1"  # the touch and its dollars stay
    assert suppressions.redact(miss) == miss
    assert Suppressions().matches(hit) is False
    assert Suppressions(frozenset({identifier_digest("email", "x@y.com")})).matches({"email": "X@Y.com"})


def test_person_closure_follows_person_links_only():
    touches = [
        {"anonymous_id": "a1"},
        {"anonymous_id": "a1", "email": "ann@acme.com"},  # identify: anonymous visitor → person
        {"email": "ann@acme.com", "crm_contact_id": "c1"},
        {"crm_contact_id": "c1", "user_id": "u1"},
        {"email": "bob@acme.com", "anonymous_id": "a2"},  # same account, another person
    ]
    assert person_identifiers(("anonymous_id", "a1"), touches) == {
        ("anonymous_id", "a1"), ("email", "ann@acme.com"), ("crm_contact_id", "c1"), ("user_id", "u1")}
    assert person_identifiers(("email", "nobody@x.com"), touches) == {("email", "nobody@x.com")}


def test_free_text_mentions_are_found_word_by_word():
    suppressions = Suppressions(frozenset({identifier_digest("anonymous_id", "anon-7"),
                                           identifier_digest("email", "ann@acme.com")}))
    assert suppressions.mentioned_in('{"event_id": "e1", "anonymous_id": "anon-7", truncated')
    assert suppressions.mentioned_in("anonymous_id=anon-7&x=1")
    assert suppressions.mentioned_in("email: $.email: 'Ann@Acme.com' is not valid")
    assert not suppressions.mentioned_in('{"anonymous_id": "anon-77", "email": "bob@acme.com"}')
    assert not Suppressions().mentioned_in("anon-7")


def test_a_dead_letter_naming_a_forgotten_person_lands_emptied():
    from sinks.privacy import redact_for_landing
    from streams.runtime.records import dead_letter

    suppressions = Suppressions(frozenset({identifier_digest("email", "ann@acme.com")}))
    _, naming = dead_letter(b'{"email": "Ann@acme.com", "event_id": 7', [], "touches-raw-v1", 0, 5, None)
    _, other = dead_letter(b'{"email": "bob@acme.com", "event_id": 7', [], "touches-raw-v1", 0, 6, None)
    landed = redact_for_landing("dead_letters", json.loads(naming), suppressions)
    assert landed["raw_base64"] is None and landed["raw_text"] is None and landed["reason"] is None
    assert landed["source_offset"] == 5  # the dead letter stays: only what names the person goes
    assert redact_for_landing("dead_letters", json.loads(other), suppressions) == json.loads(other)
