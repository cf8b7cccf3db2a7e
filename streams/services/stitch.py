"""Journeys to the lake: what ``touchline stitch --lake`` writes, and the columns of its output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sinks.lake import Lake
from sinks.privacy import load_suppressions, redact_for_landing
from sinks.tables import JOURNEY_FIELDS
from transforms.lead_sla import Breach
from transforms.types import Touch

#: The columns of `stitch`'s output: the lake's journey_touches, and whether the touch is unresolved.
JOURNEY_COLUMNS = [name for name, _ in JOURNEY_FIELDS]
JOURNEY_COLUMNS.insert(JOURNEY_COLUMNS.index("lead_response_hours") + 1, "is_unresolved")


def write_lake(lake: Lake, touches: list[Touch], journey_rows: list[dict[str, Any]], breaches: list[Breach],
               suppression_key: str | None = None) -> None:
    """Replace the lake's touches, journey_touches and sla_breaches with a batch result (one commit each).

    The touches come admitted (:func:`streams.cli.stitch.read_touches`: e-mails already pseudonymized);
    whoever the lake's suppression list names lands without their identifiers, as the sink lands them.
    """
    suppressions = load_suppressions(lake, suppression_key)

    def landing(table: str, records: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return (redact_for_landing(table, record, suppressions) for record in records)

    lake.replace("touches", landing("touches", (t.to_wire() for t in touches)), description="touchline stitch")
    lake.replace("journey_touches", landing("journey_touches", journey_rows), description="touchline stitch")
    lake.replace("sla_breaches", (breach.to_row() for breach in breaches), description="touchline stitch")
