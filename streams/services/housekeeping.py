"""The lake's housekeeping: compacting every table's small files."""

from __future__ import annotations

from sinks.lake import Lake
from sinks.tables import TABLES


def compact_lake(lake: Lake) -> dict[str, tuple[int, int]]:
    """Compact every table; return (files removed, files added) per table."""
    done = {}
    for name in TABLES:
        metrics = lake.compact(name)
        done[name] = (int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0)))
    return done
