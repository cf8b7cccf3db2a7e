"""Writing records: JSON Lines or CSV, to a file or standard output."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO


@contextmanager
def open_output(path: str) -> Iterator[TextIO]:
    """A text handle for ``path``; ``-`` is standard output."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def write_records(rows: Iterable[Mapping[str, Any]], handle: TextIO, fmt: str,
                  columns: list[str] | None = None) -> int:
    """Write rows as ``jsonl`` or ``csv`` (columns: the given list, else the first row's keys)."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            handle.write(json.dumps(row, default=str) + "\n")
            count += 1
        return count
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(handle, fieldnames=columns or list(row), extrasaction="ignore")
            writer.writeheader()
        writer.writerow({key: _cell(value) for key, value in row.items()})
        count += 1
    return count
