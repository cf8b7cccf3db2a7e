"""Process-level knobs for the batch runners."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around a batch job (or, as a decorator, around each batch of a Beam stage).

    A batch stitch allocates millions of small tuples while millions of touches are alive;
    every young-generation collection then walks them, which made stitching 1M touches
    several times slower. The core creates no reference cycles, so nothing is leaked. Beam's
    worker processes run their batches under it too: between batches the collector runs.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
