"""Each default stated once: where SQL must restate one (a session that sets no variable), it agrees."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from transforms.settings import DEFAULT_ATTRIBUTION

SQL = Path(__file__).parents[2] / "sinks" / "sql"


def test_the_marts_fall_back_on_the_attribution_defaults():
    fallbacks = {name: float(value) for path in SQL.rglob("*.sql")
                 for name, value in re.findall(r"getvariable\('touchline_(\w+)'\), ([\d.]+)\)", path.read_text())}
    assert fallbacks == {f.name: float(getattr(DEFAULT_ATTRIBUTION, f.name)) for f in fields(DEFAULT_ATTRIBUTION)}
