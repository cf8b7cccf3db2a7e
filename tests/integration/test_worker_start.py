"""Starting a worker: its preparation runs in a process of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.runtime.broker import EmbeddedBroker
from streams.runtime.worker import Worker
from streams.settings import Settings


def test_a_worker_whose_preparation_fails_says_so_and_starts_no_stage(fresh_broker: EmbeddedBroker,
                                                                      tmp_path: Path) -> None:
    """The topics, tables and catalog are made in a short-lived process; its failure stops the start."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    worker = Worker(fresh_broker.bootstrap, Settings(lake=str(blocked / "lake"), catalog=tmp_path / "c.duckdb"))
    cause = "could not create its topics, tables or catalog: TableNotFoundError: Could not create local directory"
    with pytest.raises(RuntimeError, match=cause):
        worker.start()
    assert worker.threads == []
