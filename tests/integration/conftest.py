"""Integration tests run against a real Kafka-protocol broker on 127.0.0.1.

By default each test module gets the embedded broker; TOUCHLINE_KAFKA_BOOTSTRAP points the
tests at another cluster instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streams.broker import EmbeddedBroker, open_broker


@pytest.fixture(scope="module")
def kafka_bootstrap() -> Iterator[str]:
    with open_broker(os.environ.get("TOUCHLINE_KAFKA_BOOTSTRAP")) as broker:
        yield broker.bootstrap


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """An embedded broker of the test's own, with nothing in it."""
    with EmbeddedBroker() as broker:
        yield broker
