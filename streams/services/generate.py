"""A generated population on the wire: the bytes a producer sends."""

from __future__ import annotations

import json

from transforms.generator import Emitted


def wire_line(event: Emitted) -> bytes:
    """The bytes a producer sends for one emitted record."""
    if event.record is None:
        return (event.raw or "").encode()
    return json.dumps(event.record).encode()
