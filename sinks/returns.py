"""Spend and return over a lake: the performance and influence marts, asked for with a session's settings.

The marts (``sinks/sql/marts/channel_performance.sql``, ``campaign_performance.sql``, ``influence.sql``)
read the attribution model from the session variable ``touchline_return_model`` (default ``w_shaped``).
"""

from __future__ import annotations

from pathlib import Path

from sinks.attribution import RULE_BASED, open_lake
from sinks.storage import LakeRoot
from transforms.settings import DEFAULT_ATTRIBUTION

#: The sources influence is reported by (``content``: the touch's ``content_id``).
INFLUENCE_DIMENSIONS = ("channel", "subchannel", "campaign_id", "content")
DEFAULT_MODEL = "w_shaped"
INFLUENCE_COLUMNS = ["dimension", "value", "currency", "opportunities", "pipeline", "won_deals", "won_revenue",
                     "model", "credited_opportunities", "credited_pipeline", "credited_won_deals",
                     "credited_won_revenue"]


def query_returns(lake: LakeRoot, statement: str, parameters: list[object] | None = None, *,
                  model: str = DEFAULT_MODEL, lookback_days: int = DEFAULT_ATTRIBUTION.lookback_days,
                  reporting_currency: str | None = None,
                  rates: Path | None = None) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run ``statement`` over the lake's catalog with the return marts crediting under ``model``.

    Raises:
        ValueError: ``model`` is not a rule-based model (the marts read credits from attribution_credits).
    """
    if model not in RULE_BASED:
        raise ValueError(f"the return marts credit under a rule-based model ({', '.join(RULE_BASED)}), not {model!r}")
    connection = open_lake(lake, lookback_days=lookback_days, reporting_currency=reporting_currency, rates=rates)
    try:
        connection.execute("set variable touchline_return_model = ?", [model])
        result = connection.execute(statement, parameters or [])
        columns = [column[0] for column in result.description]
        return columns, result.fetchall()
    finally:
        connection.close()


def influence(lake: LakeRoot, dimension: str = "channel", **settings: object) -> list[tuple[object, ...]]:
    """The influence mart's rows for one dimension (columns :data:`INFLUENCE_COLUMNS`), by value and currency."""
    if dimension not in INFLUENCE_DIMENSIONS:
        raise ValueError(f"influence is reported by {', '.join(INFLUENCE_DIMENSIONS)}, not {dimension!r}")
    _, rows = query_returns(lake, f"select {', '.join(INFLUENCE_COLUMNS)} from influence where dimension = ? "
                                  "order by value, currency", [dimension], **settings)  # type: ignore[arg-type]
    return rows
