"""The fault-injection suite: figures each test reports are printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

FIGURES: list[str] = []


@pytest.fixture
def report() -> Iterator[list[str]]:
    """Append lines of figures; they are printed in the run's summary."""
    lines: list[str] = []
    yield lines
    FIGURES.extend(lines)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if FIGURES:
        terminalreporter.section("fault-injection figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def fresh_broker():  # type: ignore[no-untyped-def]
    """An embedded broker of the test's own, with nothing in it."""
    from streams.runtime.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker
