"""The scorecard's figures that SQL views cannot give: credit shares and campaign revenue under a data-driven
model, and the spend section from the lake's imported spend."""

from __future__ import annotations

from collections import defaultdict

import duckdb

from sinks.attribution import DATA_DRIVEN, RULE_BASED, data_driven, paths

#: The shares of credit by team the scorecard reports: (conversion type, metric, amount).
SHARES = [("closed_won", "share of new-business revenue", "revenue"),
          ("renewal", "share of renewal revenue", "revenue"),
          ("opportunity", "share of pipeline", "pipeline")]


def data_driven_shares(connection: duckdb.DuckDBPyConnection, model: str) -> list[tuple[str, str, str, float]]:
    """The revenue and pipeline shares by team under Markov or Shapley (the SQL view has the rule-based ones),
    taken within each currency."""
    rows = []
    for conversion, metric, amount in SHARES:
        credited = [(r.value, r.currency, getattr(r, amount))
                    for r in data_driven(paths(connection, conversion, "team"), model, "team", conversion)]
        totals: dict[str | None, float] = defaultdict(float)
        for _, currency, value in credited:
            totals[currency] += value
        rows += [("revenue", f"{metric} ({model})", f"{team} {currency}", value / totals[currency])
                 for team, currency, value in credited if totals[currency]]
    return rows


def campaign_revenue(connection: duckdb.DuckDBPyConnection, model: str) -> list[tuple[str, str | None, float]]:
    """(campaign, currency, revenue credited) of won deals and renewals under the model."""
    if model not in DATA_DRIVEN:
        return connection.execute(
            "select campaign_id, currency, sum(revenue_credit) from attribution_credits "
            "where model = ? and conversion_type in ('closed_won', 'renewal') group by 1, 2", [model]).fetchall()
    found: dict[tuple[str, str | None], float] = defaultdict(float)
    for conversion in ("closed_won", "renewal"):
        for row in data_driven(paths(connection, conversion, "campaign_id"), model, "campaign_id", conversion):
            found[(row.value, row.currency)] += row.revenue
    return [(campaign, currency, revenue) for (campaign, currency), revenue in found.items()]


def imported_spend(connection: duckdb.DuckDBPyConnection, model: str) -> list[tuple[str, str, str, float | None]]:
    """The spend section from the lake's imported spend (campaign_performance, summed over months), per campaign
    and currency, credited under the scorecard's model (w_shaped for a data-driven one: the marts are SQL)."""
    connection.execute("set variable touchline_return_model = ?", [model if model in RULE_BASED else "w_shaped"])
    return connection.execute(
        "with campaigns as (select campaign_id, currency, sum(spend) as spend, sum(won_revenue) as revenue "
        "                   from campaign_performance where currency is not null group by 1, 2 having sum(spend) > 0) "
        "select 'spend', metric, campaign_id || ' ' || currency, value from campaigns, "
        "lateral (values ('spend', spend), ('attributed revenue', revenue), ('ROAS', revenue / nullif(spend, 0)), "
        "                ('cost to revenue', spend / nullif(revenue, 0))) as m(metric, value)").fetchall()
