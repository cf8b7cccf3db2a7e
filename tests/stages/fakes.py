"""Records as the runtime hands them to a stage, and an emit that collects: a stage run on its real store."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from streams.runtime.records import Record


def make_record(value: bytes | dict[str, Any], *, topic: str = "in", partition: int = 0, offset: int = 0,
                timestamp_ms: int = 1_772_445_600_000, key: bytes | None = None) -> Record:
    """A record as the runtime hands it to a stage (a dict value is encoded as the stages' JSON)."""
    encoded = value if isinstance(value, bytes) else json.dumps(value, default=str).encode()
    return Record(topic, partition, offset, timestamp_ms, key, encoded)


class Emitted:
    """The records a stage emitted, by topic (values decoded), with their keys."""

    def __init__(self) -> None:
        self.by_topic: dict[str, list[tuple[bytes, dict[str, Any]]]] = defaultdict(list)

    def __call__(self, topic: str, key: bytes, value: bytes) -> None:
        self.by_topic[topic].append((key, json.loads(value)))

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [value for _, value in self.by_topic[topic]]
