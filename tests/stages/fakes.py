"""Fake Kafka records and an emit that collects: a stage's logic run without a broker, on its real state store."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any


class FakeMessage:
    """What a stage reads of a confluent-kafka message."""

    def __init__(self, value: bytes | dict[str, Any], *, topic: str = "in", partition: int = 0, offset: int = 0,
                 timestamp_ms: int = 1_772_445_600_000) -> None:
        self._value = value if isinstance(value, bytes) else json.dumps(value, default=str).encode()
        self._topic, self._partition, self._offset, self._timestamp = topic, partition, offset, timestamp_ms

    def value(self) -> bytes:
        return self._value

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return 1, self._timestamp

    def error(self) -> None:
        return None


class Emitted:
    """The records a stage emitted, by topic (values decoded), with their keys."""

    def __init__(self) -> None:
        self.by_topic: dict[str, list[tuple[bytes, dict[str, Any]]]] = defaultdict(list)

    def __call__(self, topic: str, key: bytes, value: bytes) -> None:
        self.by_topic[topic].append((key, json.loads(value)))

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [value for _, value in self.by_topic[topic]]
