"""The lake's tables: their Arrow schemas and how a wire record becomes a row.

Every table is a Delta table hive-partitioned by ``event_date`` (the UTC date of its date
field) and holds one row per key: a newer version of a key replaces the row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
STR, F64, I64, BOOL = pa.string(), pa.float64(), pa.int64(), pa.bool_()

TOUCH_FIELDS = [
    ("event_id", STR), ("source", STR), ("event_type", STR), ("occurred_at", TS), ("received_at", TS),
    ("occurred_at_precision", STR), ("anonymous_id", STR), ("user_id", STR), ("email", STR),
    ("crm_contact_id", STR), ("account_id", STR), ("account_domain", STR), ("channel", STR),
    ("campaign_id", STR), ("utm", STR), ("team", STR), ("role", STR), ("opportunity_id", STR),
    ("amount", F64), ("currency", STR), ("stage_raw", STR), ("properties", STR),
    ("content_id", STR), ("disposition_reason", STR), ("disposition_note", STR), ("subchannel", STR),
]
JOURNEY_FIELDS = [
    ("event_id", STR), ("source", STR), ("account_id", STR), ("journey_id", STR), ("cycle", I64),
    ("seq", I64), ("stage", STR), ("stage_before", STR), ("is_first_touch", BOOL), ("is_lead_touch", BOOL),
    ("is_opportunity_touch", BOOL), ("is_close_touch", BOOL), ("is_reengagement", BOOL),
    ("lead_response_hours", F64), ("event_type", STR), ("occurred_at", TS), ("touch_account_id", STR),
    ("anonymous_id", STR), ("user_id", STR), ("email", STR), ("crm_contact_id", STR), ("account_domain", STR),
    ("channel", STR), ("campaign_id", STR), ("team", STR), ("role", STR), ("opportunity_id", STR),
    ("amount", F64), ("currency", STR), ("stage_raw", STR), ("occurred_at_precision", STR),
    ("received_at", TS), ("utm", STR), ("properties", STR), ("content_id", STR), ("disposition_reason", STR),
    ("disposition_note", STR), ("subchannel", STR),
]
DEAD_LETTER_FIELDS = [
    ("reason", STR), ("errors", STR), ("raw_base64", STR), ("raw_text", STR), ("source_topic", STR),
    ("source_partition", I64), ("source_offset", I64), ("received_at", TS),
]
MERGE_FIELDS = [
    ("event_id", STR), ("account_id", STR), ("merged_account_id", STR), ("kept_identity", STR),
    ("merged_identity", STR), ("merged_at", TS),
]
BREACH_FIELDS = [
    ("lead_event_id", STR), ("account_id", STR), ("journey_id", STR), ("lead_at", TS), ("due_at", TS),
    ("detected_at", TS), ("lead_sla_hours", F64), ("answered_at", TS), ("answer_event_id", STR),
    ("response_hours", F64),
]
ALERT_FIELDS = [
    ("alert_id", STR), ("rule", STR), ("type", STR), ("subject", STR), ("account_id", STR), ("lead_event_id", STR),
    ("destination", STR), ("destination_kind", STR), ("status", STR), ("attempts", I64), ("record_at", TS),
    ("first_try_at", TS), ("last_try_at", TS), ("latency_seconds", F64), ("http_status", I64), ("error", STR),
    ("follows", STR),
]
#: The source column of a table that retracts rows: a record marked so deletes its key (see Lake.write).
RETRACTED = "retracted"
LATE_FIELDS = [("account_id", STR), *TOUCH_FIELDS[:3], ("occurred_at", TS)]
#: Ad spend (``touchline import spend``): one row per platform, account, campaign and day (00:00 UTC).
SPEND_FIELDS = [
    ("platform", STR), ("account_id", STR), ("campaign_id", STR), ("spend_date", TS), ("campaign_name", STR),
    ("channel", STR), ("subchannel", STR), ("amount", F64), ("currency", STR), ("clicks", I64), ("impressions", I64),
]
#: The partition column: in the Delta table's schema and the files' paths, not in the files.
EVENT_DATE = pa.field("event_date", pa.date32())
_NO_DATE = date(1970, 1, 1)
#: Columns with few distinct values: Parquet dictionary-encodes these and only these (trying
#: it on ids and free text cost more than half the write time, for larger files).
FEW_VALUES = frozenset({"source", "event_type", "occurred_at_precision", "channel", "campaign_id", "team", "role",
                        "currency", "account_domain", "stage", "stage_before", "stage_raw", "reason", "source_topic",
                        "content_id", "disposition_reason", "rule", "type", "destination", "destination_kind",
                        "status", "subchannel", "platform"})


def schema(fields: list[tuple[str, pa.DataType]]) -> pa.Schema:
    """The Arrow schema of a table's files."""
    return pa.schema([pa.field(name, kind) for name, kind in fields])


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 text (or None) to an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _flat(record: Mapping[str, Any], names: list[str], times: list[str], texts: list[str]) -> dict[str, Any]:
    row = {name: record.get(name) for name in names}
    for name in times:
        value = row[name]
        if value is not None:
            row[name] = datetime.fromisoformat(value).astimezone(UTC) if isinstance(value, str) else value
    for name in texts:
        value = row[name]
        if isinstance(value, dict | list):
            row[name] = json.dumps(value, sort_keys=True)
    return row


def _date(value: Any) -> date:
    if isinstance(value, str) and len(value) >= 10 and value.endswith("Z"):
        return date.fromisoformat(value[:10])  # already UTC: the date is the prefix
    moment = parse_time(value)
    return moment.date() if moment else _NO_DATE


class Table:
    """One lake table: its schema, the timestamp it is partitioned by, its row builder."""

    def __init__(self, name: str, fields: list[tuple[str, pa.DataType]], date_field: str | None,
                 key: tuple[str, ...], unwrap: Callable[[Mapping[str, Any]], Mapping[str, Any]] = lambda r: r, *,
                 updates: bool = False, retracts: bool = False, statistics: tuple[str, ...] = (),
                 key_names_people: bool = False):
        self.name = name
        self.fields = fields
        self.schema = schema(fields)  # the files' columns
        self.table_schema = self.schema.append(EVENT_DATE)  # the Delta table's: the files' and the partition
        self.date_field = date_field
        self.key = key  # the primary key: one row per key
        self.unwrap = unwrap
        #: Whether a key's row changes (a re-folded journey); otherwise a key lands once and a repeat is a no-op.
        self.updates = updates or retracts
        #: Whether a record may withdraw its key's row at its date (``retracted``: a breach that turned out none,
        #: a copy of a touch that a better one replaced).
        self.retracts = retracts
        #: Columns with min/max statistics in the Delta log: never one that names a person (the log is not
        #: rewritten by ``touchline forget``).
        self.statistics = statistics
        #: Whether the key holds a person's identifier: then no commit may describe key values (see Lake.write).
        self.key_names_people = key_names_people
        self._names = [name for name, _ in fields]
        self._times = [name for name, kind in fields if kind == TS]
        self._texts = [name for name, kind in fields if kind == STR]

    def row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The table row (with its ``event_date``) of one wire record."""
        body = self.unwrap(record)
        row = _flat(body, self._names, self._times, self._texts)
        row["event_date"] = _date(body.get(self.date_field)) if self.date_field else _NO_DATE
        if self.retracts:
            row[RETRACTED] = bool(body.get(RETRACTED))
        return row

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """A row's primary key."""
        return tuple(row[name] for name in self.key)


def _late(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"account_id": record["account_id"], **record["touch"]}


_TOUCH_STATISTICS = ("source", "event_type", "occurred_at", "account_id", "channel")
TABLES = {
    # a better copy of a touch replaces the one landed (transforms.admission), whose row is retracted at its date
    "touches": Table("touches", TOUCH_FIELDS, "occurred_at", ("source", "event_id"), retracts=True,
                     statistics=_TOUCH_STATISTICS),
    "journey_touches": Table("journey_touches", JOURNEY_FIELDS, "occurred_at", ("source", "event_id"), retracts=True,
                             statistics=_TOUCH_STATISTICS + ("journey_id", "stage")),
    "dead_letters": Table("dead_letters", DEAD_LETTER_FIELDS, "received_at",
                          ("source_topic", "source_partition", "source_offset"),
                          statistics=("source_topic", "received_at")),
    "identity_merges": Table("identity_merges", MERGE_FIELDS, "merged_at", ("event_id", "merged_identity"),
                             statistics=("account_id", "merged_at"), key_names_people=True),
    "sla_breaches": Table("sla_breaches", BREACH_FIELDS, "lead_at", ("lead_event_id",), retracts=True,
                          statistics=("account_id", "lead_at")),
    "late_touches": Table("late_touches", LATE_FIELDS, "occurred_at", ("source", "event_id"), _late,
                          statistics=("account_id", "occurred_at")),
    # one row per (rule, subject, destination, type): pending, then delivered or failed
    "alerts": Table("alerts", ALERT_FIELDS, "record_at", ("alert_id",), updates=True,
                    statistics=("account_id", "record_at", "status")),
    "spend": Table("spend", SPEND_FIELDS, "spend_date", ("platform", "account_id", "campaign_id", "spend_date"),
                   updates=True, statistics=("platform", "campaign_id", "channel")),
}
