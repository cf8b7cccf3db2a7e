"""CRM exports read as rows, and each row's touch with the number of the row it came from."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from schemas import crm


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV file, a JSON array (or an object with a ``results`` array), or JSON Lines."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    stripped = text.lstrip()
    if stripped.startswith("["):
        return list(json.loads(text))
    if stripped.startswith("{") and "\n{" not in stripped:
        document = json.loads(text)
        return list(document.get("results", [document]))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def numbered(system: str, rows: list[dict[str, Any]], export: crm.Export,
             first: int) -> Iterator[tuple[int | None, crm.Converted]]:
    """Each result with the number of the row it came from (``first``: the first row's; None: the whole file)."""
    results = crm.salesforce_rows(rows, export) if system == "salesforce" else crm.hubspot_rows(rows, export)
    for index, result in results:
        yield (None if index is None else first + index), result
