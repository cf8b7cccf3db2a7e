"""Stopping a command that follows (``sync --follow``, ``push --follow``) cleanly between rounds."""

from __future__ import annotations

import signal
import threading
from typing import Any


def stopper() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so that a following command stops between rounds (what it did is
    acknowledged and recorded: a stop is clean, and a kill at any point safe)."""
    stop = threading.Event()

    def handler(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
