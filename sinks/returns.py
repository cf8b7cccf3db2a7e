"""Spend and return over a lake: the performance and influence marts, asked for with a session's settings.

The marts (``sinks/sql/marts/channel_performance.sql``, ``campaign_performance.sql``, ``influence.sql``)
read the attribution model from the session variable ``touchline_return_model`` (default ``w_shaped``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

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


def spend_and_return_by_month(connection: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(month, channel, currency, spend, credited won revenue) of the channels with spend or revenue, per currency."""
    return connection.execute(
        "select month, channel, currency, spend, won_revenue from channel_performance "
        "where currency is not null and (spend > 0 or won_revenue > 0) order by month, channel, currency").fetchall()


def roas_by_campaign(connection: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(campaign, name, channel, currency, spend, credited won revenue, ROAS, CAC, cost per opportunity) of the
    campaigns with spend, summed over months, per currency, highest ROAS first."""
    return connection.execute(
        "select campaign_id, any_value(campaign_name), any_value(channel), currency, sum(spend) as spend, "
        "sum(won_revenue) as revenue, sum(won_revenue) / sum(spend) as roas, "
        "sum(spend) / nullif(sum(new_customers), 0), sum(spend) / nullif(sum(opportunities), 0) "
        "from campaign_performance where currency is not null group by campaign_id, currency having sum(spend) > 0 "
        "order by roas desc, campaign_id").fetchall()


def cohorts(connection: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(first-touch month, months since, accounts, lead share, opportunity share, won share), oldest first."""
    return connection.execute(
        "select cohort_month, months_since, accounts, lead_share, opportunity_share, won_share from cohorts "
        "order by cohort_month, months_since").fetchall()


def time_lag(connection: duckdb.DuckDBPyConnection, conversion: str) -> list[tuple[Any, ...]]:
    """(channel, lag bucket, credited conversions, touches, the channel's median days) of one conversion type,
    buckets shortest first."""
    return connection.execute(
        "select coalesce(channel, 'unknown'), lag, credited_conversions, touches, median_days from time_lag "
        "where conversion_type = ? order by bucket_order, 1", [conversion]).fetchall()
