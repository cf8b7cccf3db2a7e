"""Erasure in the lake: ``touchline forget`` and the suppression list the sink honours.

``lake/_privacy/suppressed.json`` holds entries for forgotten identifiers (never the values):
HMACs with a secret key kept outside the lake (``TOUCHLINE_SUPPRESSION_KEY``), so whoever reads
the lake cannot test the list against addresses they guess. The sink redacts any row carrying
one before it lands, so a forgotten person does not come back with their next event or with a
replay. ``lake/_privacy/audit.jsonl`` records each erasure: when, which identifiers (as the same
entries), how many rows of which tables were rewritten and the table versions that rewrote them.
A list written before keys (plain SHA-256 digests) is keyed in place the first time a process
with the key reads it, and its audit log with it.

Erasure rewrites the files of each table's current version that hold the person in one Delta
commit, then deletes every file of the table, of any version, that still holds them: no
earlier version can be read back with the person in it (the Delta log holds no personal
values: its statistics cover other columns, see ``sinks.tables``).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake.exceptions import CommitFailedError

from batches.columns import empty_where
from sinks.lake import COMMIT_TRIES, Lake
from transforms.privacy import (
    FREE_FORM_FIELDS,
    PERSON_FIELDS,
    Suppressions,
    keyed,
    person_identifiers,
    pseudonymize_text,
)

#: Lake tables with a person's identifiers in their own columns: matched exactly, then emptied.
PERSONAL_TABLES = {"touches": PERSON_FIELDS + FREE_FORM_FIELDS, "journey_touches": PERSON_FIELDS + FREE_FORM_FIELDS}
#: Tables that mention identifiers in text: (columns searched, columns emptied) where one appears.
MENTIONING_TABLES = {
    "identity_merges": (("kept_identity", "merged_identity"), ("kept_identity", "merged_identity")),
    "dead_letters": (("raw_text", "errors", "reason"), ("raw_text", "raw_base64", "errors", "reason")),
}


log = logging.getLogger(__name__)

#: Where the lake keeps the suppression list and the audit log (beside its tables).
SUPPRESSION_FILE = ("_privacy", "suppressed.json")
AUDIT_FILE = ("_privacy", "audit.jsonl")
#: Keyed into the list's file, so a process with another key is told instead of missing every entry.
_KEY_CHECK = "touchline suppression key check"


class SuppressionKeyError(RuntimeError):
    """The suppression key is missing, or is not the one the lake's list was keyed with."""


def load_suppressions(lake: Lake, key: str | None) -> Suppressions:
    """The suppression list (empty if nobody was forgotten), read with the secret ``key``."""
    secret = key.encode() if key else b""
    text = lake.storage.read_bytes(*SUPPRESSION_FILE)
    if text is None:
        return Suppressions(key=secret)
    document = json.loads(text)
    if isinstance(document, list):  # plain digests, written before keys
        if not secret:
            log.warning("the lake's suppression list is not keyed: anyone reading the lake can test it against "
                        "guessed identifiers; set TOUCHLINE_SUPPRESSION_KEY (a secret kept outside the lake) to key it")
            return Suppressions(frozenset(document))
        return _key_in_place(lake, frozenset(document), secret)
    if not secret:
        raise SuppressionKeyError("the lake's suppression list is keyed: set TOUCHLINE_SUPPRESSION_KEY to the key it "
                                  "was written with, or forgotten people would land again")
    if document.get("key_check") != keyed(secret, _KEY_CHECK):
        raise SuppressionKeyError("TOUCHLINE_SUPPRESSION_KEY is not the key the lake's suppression list was written "
                                  "with: no entry would match")
    return Suppressions(frozenset(document["entries"]), secret)


def _write_list(lake: Lake, suppressions: Suppressions) -> None:
    document = {"keyed": "hmac-sha256", "key_check": keyed(suppressions.key, _KEY_CHECK),
                "entries": sorted(suppressions.digests)}
    lake.storage.write_bytes(json.dumps(document, indent=0).encode(), *SUPPRESSION_FILE)


def _key_in_place(lake: Lake, digests: frozenset[str], key: bytes) -> Suppressions:
    """Key a list of plain digests (and the audit log's identifiers) with ``key``, in the lake."""
    suppressions = Suppressions(frozenset(keyed(key, digest) for digest in digests), key)
    audit = lake.storage.read_bytes(*AUDIT_FILE)
    if audit:
        records = [json.loads(line) for line in audit.decode().splitlines() if line.strip()]
        for record in records:
            if not record.get("keyed"):
                record["identifiers"] = [f"{kind}:{keyed(key, digest)}" for kind, _, digest in
                                         (entry.partition(":") for entry in record["identifiers"])]
                record["keyed"] = "hmac-sha256"
        lake.storage.write_bytes("".join(json.dumps(r) + "\n" for r in records).encode(), *AUDIT_FILE)
    _write_list(lake, suppressions)
    log.warning("keyed the lake's suppression list (%d entries) and its audit log with TOUCHLINE_SUPPRESSION_KEY",
                len(digests))
    return suppressions


class SuppressionWatch:
    """The suppression list, re-read when its file changes (a stat per call)."""

    def __init__(self, lake: Lake, key: str | None) -> None:
        self.lake, self.key = lake, key
        self.stamp: tuple[int, int] | None = None
        self.current = Suppressions(key=key.encode() if key else b"")

    def get(self) -> Suppressions:
        """The list as it is in the lake now."""
        stamp = self.lake.storage.stamp(*SUPPRESSION_FILE)
        if stamp != self.stamp:
            self.current = load_suppressions(self.lake, self.key)
            self.stamp = self.lake.storage.stamp(*SUPPRESSION_FILE)  # keying in place rewrites it
        return self.current


#: Identity-graph node prefixes (``transforms.identity``) and the identifier each names.
_NODE_KINDS = {"email": "email", "user": "user_id", "anon": "anonymous_id", "contact": "crm_contact_id"}


def redact_for_landing(table: str, record: dict[str, Any], suppressions: Suppressions) -> dict[str, Any]:
    """A record about to land, without a forgotten person's identifiers."""
    if not suppressions.digests:
        return record
    if table in PERSONAL_TABLES:
        return suppressions.redact(record)
    if table == "dead_letters":
        raw = base64.b64decode(record.get("raw_base64") or "").decode("utf-8", errors="replace")
        if suppressions.mentioned_in(f"{raw or record.get('raw_text') or ''}\n{record.get('reason') or ''}"):
            return {**record, **dict.fromkeys(MENTIONING_TABLES["dead_letters"][1])}
    if table == "identity_merges":
        for column in ("kept_identity", "merged_identity"):
            prefix, _, value = str(record.get(column) or "").partition(":")
            kind = _NODE_KINDS.get(prefix)
            if kind and suppressions.names(kind, value):
                record = {**record, column: None}
    return record


def for_landing(table: str, record: dict[str, Any], salt: str | None, suppressions: Suppressions) -> dict[str, Any]:
    """A record about to land: a dead letter's e-mails pseudonymized first (so a suppressed pseudonym matches),
    then a forgotten person's identifiers removed."""
    if salt and table == "dead_letters":
        record = scrub_dead_letter(record, salt)
    return redact_for_landing(table, record, suppressions)


def scrub_dead_letter(record: dict[str, Any], salt: str | None) -> dict[str, Any]:
    """A dead letter with the e-mail addresses in its raw bytes and messages pseudonymized."""
    if not salt:
        return record
    scrubbed = {name: pseudonymize_text(record[name], salt) for name in ("raw_text", "reason")
                if isinstance(record.get(name), str)}
    if record.get("errors"):
        scrubbed["errors"] = [{**e, "problem": pseudonymize_text(str(e.get("problem")), salt)}
                              for e in record["errors"]]
    if record.get("raw_base64"):
        raw = base64.b64decode(record["raw_base64"]).decode("utf-8", errors="surrogateescape")
        raw_bytes = pseudonymize_text(raw, salt).encode("utf-8", errors="surrogateescape")
        scrubbed["raw_base64"] = base64.b64encode(raw_bytes).decode()
    return {**record, **scrubbed}


def _suppress(lake: Lake, key: str, identifiers: set[tuple[str, str]]) -> Suppressions:
    current = load_suppressions(lake, key)
    merged = Suppressions(current.digests | {current.entry(k, v) for k, v in identifiers}, current.key)
    _write_list(lake, merged)
    return merged


def _identifiers_of(store: Lake, kind: str, values: Sequence[str]) -> set[tuple[str, str]]:
    files = store.files("touches")
    if not files:
        return {(kind, value) for value in values}
    linked = pa.concat_tables(store.read_files("touches", files, list(PERSON_FIELDS)))
    linked = linked.set_column(linked.schema.get_field_index("email"), "email", pc.utf8_lower(linked["email"]))
    rows = linked.to_pylist()
    return set().union(*(person_identifiers((kind, value.strip().lower() if kind == "email" else value), rows)
                         for value in values))


def _hits(store: Lake, name: str, hit_of: Callable[[pa.Table], pa.Array],
          paths: list[str]) -> list[tuple[pa.Table | None, pa.Array, int]]:
    """For each file: which rows ``hit_of`` selects, how many, and the file's rows if any (files read several
    at a time; only those holding the person stay in memory)."""
    def read(path: str) -> tuple[pa.Table | None, pa.Array, int]:
        table = store.read_file(name, path)
        hit = pc.fill_null(hit_of(table), False)
        count = int(pc.sum(hit).as_py() or 0)
        return (table if count else None), hit, count
    return store.storage.each(read, paths)


def _any(masks: list[pa.Array], rows: int) -> pa.Array:
    hit = pa.array([False] * rows)
    for mask in masks:
        hit = pc.or_(hit, pc.fill_null(mask, False))
    return hit


def erase(store: Lake, identifiers: set[tuple[str, str]]) -> tuple[dict[str, int], dict[str, int]]:
    """Rewrite the rows that hold the identifiers, one commit per table, then delete every file of any
    version still holding them; return (rows changed, the version that rewrote them) per table."""
    def personal(table: pa.Table) -> pa.Array:
        return _any([pc.equal(pc.utf8_lower(table[kind]), value.lower()) if kind == "email"
                     else pc.equal(table[kind], value) for kind, value in identifiers], table.num_rows)

    def mentioning(searched: tuple[str, ...]) -> Callable[[pa.Table], pa.Array]:
        return lambda table: _any([pc.match_substring(table[name], value, ignore_case=True)
                                   for name in searched for _, value in identifiers], table.num_rows)

    plans = [(name, personal, columns) for name, columns in PERSONAL_TABLES.items()]
    plans += [(name, mentioning(searched), emptied) for name, (searched, emptied) in MENTIONING_TABLES.items()]
    changed: dict[str, int] = {}
    versions: dict[str, int] = {}
    for name, hit_of, columns in plans:
        for attempt in range(COMMIT_TRIES):
            try:
                changed[name], version = _erase_from(store, name, hit_of, columns)
                break
            except CommitFailedError:  # the sink replaced one of those files first: read its version again
                if attempt == COMMIT_TRIES - 1:
                    raise
        if version is not None:
            versions[name] = version
        old = store.unreferenced(name)  # the files just replaced, and older versions' holding the person
        for path, (_, _, count) in zip(old, _hits(store, name, hit_of, old), strict=True):
            if count:
                store.delete_file(path)
    return changed, versions


def _erase_from(store: Lake, name: str, hit_of: Callable[[pa.Table], pa.Array],
                columns: tuple[str, ...]) -> tuple[int, int | None]:
    """Empty ``columns`` of the rows of the table's current version ``hit_of`` selects, in one commit;
    return (rows changed, the version written, None if nothing was)."""
    rewritten, changed = {}, 0
    files = store.files(name)
    for path, (table, hit, count) in zip(files, _hits(store, name, hit_of, files), strict=True):
        if table is not None:
            rewritten[path] = empty_where(table, hit, columns)
            changed += count
    return changed, store.rewrite(name, rewritten, description="touchline forget") if rewritten else None


def forget(lake: Lake, kind: str, value: str, *, key: str | None, requested_by: str,
           now: datetime | None = None, also: Sequence[str] = ()) -> dict[str, Any]:
    """Erase a person from the lake, suppress their identifiers, and audit it; return the audit record.

    ``also``: other values of the same identifier that name the person (an e-mail's legacy pseudonym).

    The suppression list is written first, so the sink redacts whatever lands from then on;
    then each table's rows are rewritten in a commit and the files that held the person deleted.
    """
    if kind not in PERSON_FIELDS:
        raise ValueError(f"{kind}: not a person identifier ({', '.join(PERSON_FIELDS)})")
    if not key:
        raise SuppressionKeyError("forgetting someone needs TOUCHLINE_SUPPRESSION_KEY: a secret kept outside the "
                                  "lake that keys the suppression list (every worker needs the same one)")
    identifiers = _identifiers_of(lake, kind, [value, *also])
    suppressions = _suppress(lake, key, identifiers)
    changed, versions = erase(lake, identifiers)
    record = {"at": (now or datetime.now(UTC)).isoformat(), "action": "forget", "requested_by": requested_by,
              "identifiers": sorted(f"{k}:{suppressions.entry(k, v)}" for k, v in identifiers), "keyed": "hmac-sha256",
              "rows_changed": changed, "versions_written": versions}
    earlier = lake.storage.read_bytes(*AUDIT_FILE) or b""  # object stores cannot append: the log is rewritten
    lake.storage.write_bytes(earlier + (json.dumps(record) + "\n").encode(), *AUDIT_FILE)
    return record
