"""Reading JSON Lines inputs: files or ``-`` for stdin, blank lines skipped, bytes kept raw."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank input line and where it came from."""

    path: str
    number: int
    raw: bytes


def read_lines(paths: Iterable[str]) -> Iterator[Line]:
    """The non-blank lines of each path in order; ``-`` reads standard input."""
    for path in paths:
        handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield Line(path, number, raw.rstrip(b"\r\n"))
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()
