"""The Parquet lake: hive-partitioned by ``event_date``, written atomically and idempotently.

A micro-batch of records from one topic-partition, offsets ``first..last``, becomes one file
per event date, named ``part-<topic>-<partition>-<first>-<last>.parquet``; each file is
written to a temporary name and renamed. Then the batch's manifest records ``last`` as
landed. On restart, files past the manifest (a batch cut short by a crash) are removed and
the sink resumes after the landed offset: a replay rewrites, never duplicates.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sinks.tables import FEW_VALUES, Table

_PART = re.compile(r"^part-(?P<topic>.+)-(?P<partition>\d+)-(?P<first>\d{12})-(?P<last>\d{12})\.parquet$")


def write_atomically(path: Path, table: pa.Table) -> None:
    """Write a Parquet file under a temporary name, then rename it into place.

    The rename makes a torn file impossible to see after a process crash. Files are not
    fsynced one by one (that cost more than the rest of landing); after a power loss the
    manifest may be ahead of the files, which `Lake.verify` reports.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, temporary, compression="zstd",
                       use_dictionary=[name for name in table.column_names if name in FEW_VALUES])
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Lake:
    """Landing of micro-batches into ``root/<table>/event_date=<day>/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _manifest(self, table: str, topic: str, partition: int) -> Path:
        return self.root / "_manifests" / table / f"{topic}-{partition}.json"

    def landed(self, table: str, topic: str, partition: int) -> int:
        """The last offset landed for a topic-partition (-1 if none); removes crash leftovers."""
        manifest = self._manifest(table, topic, partition)
        last = json.loads(manifest.read_text())["last_offset"] if manifest.exists() else -1
        for path in (self.root / table).glob("event_date=*/*"):
            if path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                continue
            match = _PART.match(path.name)
            if match and match["topic"] == topic and int(match["partition"]) == partition \
                    and int(match["first"]) > last:
                path.unlink(missing_ok=True)
        return int(last)

    def write(self, table: Table, topic: str, partition: int,
              records: Iterable[tuple[int, Mapping[str, Any]]]) -> int:
        """Land ``(offset, record)`` pairs of one topic-partition; return rows written."""
        dated = [table.row(record, partition, offset) for offset, record in records]
        if not dated:
            return 0
        first, last = dated[0][1]["_offset"], dated[-1][1]["_offset"]
        dated.sort(key=lambda pair: pair[0])
        arrow = pa.Table.from_pylist([row for _, row in dated], schema=table.schema)
        name = f"part-{topic}-{partition}-{first:012d}-{last:012d}.parquet"
        start = 0
        while start < len(dated):  # one file per event date: contiguous slices of the sorted batch
            day = dated[start][0]
            end = start
            while end < len(dated) and dated[end][0] == day:
                end += 1
            write_atomically(self.root / table.name / f"event_date={day}" / name, arrow.slice(start, end - start))
            start = end
        manifest = self._manifest(table.name, topic, partition)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        temporary = manifest.with_suffix(".tmp")
        temporary.write_text(json.dumps({"last_offset": last}))
        os.replace(temporary, manifest)
        return len(dated)

    def files(self, table: str) -> list[Path]:
        """The table's Parquet files."""
        return sorted((self.root / table).glob("event_date=*/*.parquet"))
