"""Attribution over a lake: rule-based models from the SQL marts, data-driven ones in numpy.

Settings reach the SQL as DuckDB session variables (see sinks/sql/marts/), so the catalog's
views answer with the defaults and `touchline attribute` can ask with others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from sinks import catalog
from sinks.lake import Lake
from sinks.storage import LakeRoot
from transforms.markov import markov
from transforms.paths import Credit, Path, heuristic
from transforms.shapley import shapley

RULE_BASED = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "u_shaped", "w_shaped",
              "full_path")
DATA_DRIVEN = ("markov", "shapley")
MODELS = RULE_BASED + DATA_DRIVEN
CONVERSIONS = ("lead", "opportunity", "closed_won", "renewal")
DIMENSIONS = ("channel", "campaign_id", "event_type", "team", "stage")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of `touchline attribute`: a model's credit for one dimension value (revenue for won deals and
    renewals, pipeline for opportunities created)."""

    model: str
    dimension: str
    value: str
    conversions: float
    revenue: float
    pipeline: float = 0.0


def open_lake(lake: LakeRoot, *, lookback_days: int = 365, half_life_days: float = 7.0,
              conversion: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the catalog's views over ``lake`` and the given settings.

    With ``conversion``, the attribution marts compute that conversion type only.
    """
    store = Lake(lake)
    connection = store.connect()
    connection.execute("set variable touchline_lookback_days = ?", [lookback_days])
    connection.execute("set variable touchline_half_life_days = ?", [half_life_days])
    if conversion is not None:
        connection.execute("set variable touchline_conversion_type = ?", [conversion])
    catalog.build(store, connection)
    # Every mart reads the journey touches and the conversions, some several times: read the
    # lake (and resolve row versions) once per session instead.
    for view in ("journey_touches", "conversions"):
        connection.execute(f"create temp table session_{view} as select * from {view}")
        connection.execute(f"create or replace temp view {view} as select * from session_{view}")
    return connection


def rule_based(connection: duckdb.DuckDBPyConnection, model: str, conversion: str, dimension: str) -> list[Row]:
    """Credited conversions, revenue and pipeline per dimension value, from the attribution_credits mart."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    rows = connection.execute(
        f"select coalesce(cast({dimension} as varchar), 'unknown') as value, sum(credit), sum(revenue_credit), "
        "sum(pipeline_credit) from attribution_credits where model = ? and conversion_type = ? group by 1 order by 1",
        [model, conversion],
    ).fetchall()
    return [Row(model, dimension, value, float(c), float(r or 0), float(p or 0)) for value, c, r, p in rows]


def paths(connection: duckdb.DuckDBPyConnection, conversion: str, dimension: str) -> list[Path]:
    """Aggregated paths of one conversion type over one dimension (grouped in DuckDB); a path's value is its
    conversion's revenue, or its pipeline for an opportunity."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    connection.execute("set variable touchline_path_dimension = ?", [dimension])
    found = connection.execute(
        "select steps, count(*) filter (where is_converted), coalesce(sum(revenue), 0) + coalesce(sum(pipeline), 0), "
        "count(*) filter (where not is_converted) "
        "from attribution_paths where conversion_type = ? and len(steps) > 0 group by steps", [conversion]
    ).fetchall()
    return [Path(tuple(steps), float(c), float(v), float(n)) for steps, c, v, n in found]


def data_driven(found: list[Path], model: str, dimension: str, conversion: str = "closed_won") -> list[Row]:
    """Markov or Shapley credits over aggregated paths (their value is pipeline for opportunities)."""
    credits: list[Credit] = markov(found).credits if model == "markov" else shapley(found)
    if conversion == "opportunity":
        return [Row(model, dimension, c.channel, c.conversions, 0.0, c.value) for c in credits]
    return [Row(model, dimension, c.channel, c.conversions, c.value) for c in credits]


def from_paths(found: list[Path], models: Iterable[str]) -> list[Row]:
    """Every requested model over a paths file (no lake): heuristics, Markov, Shapley."""
    rows = []
    for model in models:
        if model in DATA_DRIVEN:
            rows += data_driven(found, model, "channel")
        elif model in ("first_touch", "last_touch", "linear", "position_based"):
            rows += [Row(model, "channel", c.channel, c.conversions, c.value) for c in heuristic(found, model)]
        else:
            raise ValueError(f"{model} needs touch timestamps and milestones: run it on a lake")
    return rows


def attribute(lake: LakeRoot, models: Iterable[str], conversion: str, dimension: str, *,
              lookback_days: int = 365, half_life_days: float = 7.0) -> list[Row]:
    """Every requested model over a lake."""
    connection = open_lake(lake, lookback_days=lookback_days, half_life_days=half_life_days, conversion=conversion)
    try:
        rows: list[Row] = []
        found: list[Path] | None = None
        for model in models:
            if model in RULE_BASED:
                rows += rule_based(connection, model, conversion, dimension)
            else:
                found = found if found is not None else paths(connection, conversion, dimension)
                rows += data_driven(found, model, dimension, conversion)
        return rows
    finally:
        connection.close()
