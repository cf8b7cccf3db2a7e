"""Personal data: pseudonymous e-mail addresses, and who must be forgotten.

A person is known by four identifiers (``PERSON_FIELDS``). With a secret salt, an e-mail's
local part becomes a keyed hash and its domain stays: the domain is the company's (identity
resolution needs it), the local part is the person's. A pseudonym's local part is ``h:`` and 32
hex digits: a colon cannot stand unquoted in an address's local part (RFC 5322 ``atext``), so no
real address looks like a pseudonym, and pseudonymizing one again leaves it as it is, whatever
address was given (``H.Mueller@…``, ``h.<32 hex>@…`` and ``Ann+tag@…`` are all hashed).
Erasure does not delete a touch (that
would change journeys and revenue others own): it removes every identifier and free-form field
of the person's touches, and suppresses their identifiers from then on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from schemas.vocabulary import PERSON_ID_FIELDS

PERSON_FIELDS = PERSON_ID_FIELDS  # a person's four identifiers: the one list, in the wire contract
#: Free-form fields that may carry what the person typed (names, form answers, page URLs) or what a seller
#: wrote about them (a verdict's note).
FREE_FORM_FIELDS = ("properties", "utm", "disposition_note")
PSEUDONYM_PREFIX = "h:"
_PSEUDONYM = re.compile(r"h:[0-9a-f]{32}@[^@\s]+")
#: What pseudonyms looked like before they took a form no address can have (lakes written then hold them).
LEGACY_PSEUDONYM_PREFIX = "h."


def is_pseudonym(email: str) -> bool:
    """Whether ``email`` is a pseudonym: ``h:`` and 32 hex digits, a local part no real address can have."""
    return _PSEUDONYM.fullmatch(email) is not None


def pseudonymize_email(email: str, salt: str, prefix: str = PSEUDONYM_PREFIX) -> str:
    """``ann@acme.com`` → ``h:<keyed hash of ann>@acme.com``; the same for the same salt; a pseudonym stays
    as it is (``prefix``: the legacy ``h.`` form, for finding a person in lakes written before)."""
    if is_pseudonym(email):
        return email
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return email
    digest = hmac.digest(salt.encode(), local.encode(), "sha256").hex()[:32]  # hmac.new's digest, in one C call
    return f"{prefix}{digest}@{domain}"


def pseudonymize(record: Mapping[str, Any], salt: str | None) -> dict[str, Any]:
    """A touch/1 record with its e-mail, and every address in its free-form fields, pseudonymized (unchanged
    without a salt)."""
    if not salt:
        return dict(record)
    found = {name: pseudonymize_free_form(record[name], salt) for name in FREE_FORM_FIELDS
             if record.get(name) is not None}
    if isinstance(record.get("email"), str):
        found["email"] = pseudonymize_email(record["email"], salt)
    return {**record, **found}


#: A character of an address's local part in free text: a letter of any script, a digit, RFC 5322's ``atext``
#: but for the characters that also delimit URLs and queries (``%&/=?``), or one escaped as a URL writes it
#: (``%C3%B6``, ``%2B``: never a delimiter) or as JSON does (``\\u00f6``: past ASCII, never a lone surrogate).
_ESCAPED = (r"%(?:[89A-Fa-f][0-9A-Fa-f]|2[BbDdEe7]|5[Ff]|7[Ee])"
            r"|\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-cA-CeEfF][0-9a-fA-F]{3})")
#: Where a local part cannot start: inside an escape (``%3Dann@…`` is ``ann@…`` after an escaped ``=``).
_NOT_IN_ESCAPE = (r"(?<!%)(?<!%[0-9A-Fa-f])"
                  r"(?<!\\)(?<!\\u)(?<!\\u[0-9A-Fa-f])(?<!\\u[0-9A-Fa-f]{2})(?<!\\u[0-9A-Fa-f]{3})")
#: The local part: it neither starts with a quote or a dot (``'ann@…'`` quoted in text is ``ann@…``).
_LOCAL = rf"{_NOT_IN_ESCAPE}(?:[\w!#$*+^`{{|}}~-]|{_ESCAPED})(?:[\w.!#$'*+^`{{|}}~-]|{_ESCAPED})*"
#: ``@`` as written, or escaped as JSON or a URL writes it.
_AT = r"(?:@|%40|\\u0040)"
_DOMAIN = r"(?:[\w-]+\.)+[^\W\d_]{2,}"
#: An address in free text, or a pseudonym (``h:`` is matched with it, so a pseudonym is never hashed again).
_EMAIL = re.compile(rf"h:[0-9a-f]{{32}}@{_DOMAIN}|{_LOCAL}{_AT}{_DOMAIN}")
_JSON_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")
_WORDS = re.compile(r"""[\s"'{}\[\](),;]+""")
_PARTS = re.compile(r"[:=&?]+")


def unescape_address(found: str) -> str:
    r"""An address as free text wrote it (JSON's ``\u`` escapes, a URL's percent-escapes) in plain text."""
    return unquote(_JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), found))


def pseudonymize_text(text: str, salt: str) -> str:
    r"""Free text (a dead letter's raw record, a page URL, a note) with every e-mail address in it pseudonymized,
    escaped ones included (``ann\u0040acme.com``, ``ann%40acme.com``)."""
    return _EMAIL.sub(lambda m: pseudonymize_email(unescape_address(m.group(0)), salt), text)


def pseudonymize_free_form(value: Any, salt: str) -> Any:
    """A free-form field's value (text, or JSON objects and arrays of it) with every address in its texts,
    keys included, pseudonymized."""
    if isinstance(value, str):
        return pseudonymize_text(value, salt)
    if isinstance(value, dict):
        return {pseudonymize_text(key, salt) if isinstance(key, str) else key: pseudonymize_free_form(item, salt)
                for key, item in value.items()}
    if isinstance(value, list):
        return [pseudonymize_free_form(item, salt) for item in value]
    return value


def identifier_digest(kind: str, value: str) -> str:
    """An identifier's fingerprint (a hash, never the value itself); see :func:`keyed` for what is kept."""
    normal = value.strip().lower() if kind == "email" else value
    return hashlib.sha256(f"{kind}:{normal}".encode()).hexdigest()


def keyed(key: bytes, digest: str) -> str:
    """A fingerprint as the suppression list keeps it: an HMAC with a secret key kept outside the lake, so the
    list cannot be tested against guessed identifiers. Without a key (lists written before keys), as it is."""
    return hmac.digest(key, digest.encode(), "sha256").hex() if key else digest


@dataclass(frozen=True, slots=True)
class Suppressions:
    """The identifiers of forgotten people, as entries keyed with ``key`` (see :func:`keyed`)."""

    digests: frozenset[str] = field(default_factory=frozenset)
    key: bytes = b""

    def entry(self, kind: str, value: str) -> str:
        """How the list names an identifier."""
        return keyed(self.key, identifier_digest(kind, value))

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether the record carries an identifier of a forgotten person."""
        return bool(self.digests) and any(
            isinstance(record.get(kind), str) and self.entry(kind, record[kind]) in self.digests
            for kind in PERSON_FIELDS)

    def redact(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record without the person: identifiers and free-form fields emptied if it matches."""
        if not self.matches(record):
            return dict(record)
        return {**record, **dict.fromkeys(PERSON_FIELDS + FREE_FORM_FIELDS)}

    def names(self, kind: str, value: str) -> bool:
        """Whether ``value``, as a ``kind`` of identifier, is a forgotten person's."""
        return self.entry(kind, value) in self.digests

    def mentioned_in(self, text: str) -> bool:
        """Whether free text (a dead letter's raw record) holds a forgotten person's identifier.

        Every word of it is tried as each kind of identifier: between quotes, brackets, commas
        and spaces, and again between colons, equals signs, ampersands and question marks (``anonymous_id=a1&x=1``).
        """
        if not self.digests:
            return False
        words = {unescape_address(found) for found in _EMAIL.findall(text)}
        for word in _WORDS.split(text):
            words.add(word)
            words.update(_PARTS.split(word))
        return any(self.names(kind, word) for word in words if word for kind in PERSON_FIELDS)


def person_identifiers(seed: tuple[str, str], touches: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """Every identifier that the same person's touches link to ``seed`` (kind, value), transitively.

    Links are person-level only: two identifiers on one touch (an ``identify`` call joining an
    anonymous visitor to an e-mail). Accounts and domains are not a person and never link.
    """
    records = [[(kind, t[kind]) for kind in PERSON_FIELDS if t.get(kind)] for t in touches]
    found = {seed}
    grew = True
    while grew:
        grew = False
        for identifiers in records:
            if found.intersection(identifiers) and not found.issuperset(identifiers):
                found.update(identifiers)
                grew = True
    return found
