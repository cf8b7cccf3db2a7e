"""The environment of the batch runners' worker processes (glibc's allocator knobs)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

#: glibc settings for processes that allocate and free many-megabyte batches: keep freed memory
#: in the heap instead of unmapping it and faulting it back in for the next batch.
KEEP_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(4 * 1024**3)}


@contextmanager
def worker_environment(settings: Mapping[str, str]) -> Iterator[None]:
    """Give the worker processes started inside the block these environment variables (unless already set)."""
    added = {name: value for name, value in settings.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
