"""What the dashboard shows, read from the lake through the catalog's views (as any BI tool would).

Each function takes a session from :func:`sinks.attribution.open_lake` and returns plain rows;
`dashboard/` turns them into charts and pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from sinks.attribution import DATA_DRIVEN, RULE_BASED, Row, data_driven, paths, rule_based
from sinks.lake import Lake
from sinks.storage import LakeRoot
from sinks.tables import TABLES
from transforms.timeline import TimelineTouch

STAGES = ("find", "engage", "close", "grow")

Rows = list[tuple[Any, ...]]


def lake_version(lake: LakeRoot) -> str:
    """A token that changes whenever a commit lands in any of the lake's tables (their Delta versions)."""
    store = Lake(lake)
    return "-".join(str(store.version(name)) for name in TABLES)


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Rows:
    return connection.execute(sql, params or []).fetchall()


def unresolved_touches(connection: duckdb.DuckDBPyConnection) -> int:
    """Touches waiting for identity: on no account's journey yet (see the unresolved_touches view)."""
    return int(_fetch(connection, "select count(*) from unresolved_touches")[0][0])


def funnel(connection: duckdb.DuckDBPyConnection) -> Rows:
    """Per stage, in journey order: accounts that ever reached it, and accounts in it now."""
    found = _fetch(connection, """
        with reached as (select stage, count(distinct account_id) as accounts from journey_touches group by stage),
             now as (select stage, count(*) as accounts from journeys group by stage)
        select stage, coalesce(reached.accounts, 0), coalesce(now.accounts, 0)
        from (select unnest(?::varchar[]) as stage) as stages
        left join reached using (stage) left join now using (stage)
    """, [list(STAGES)])
    return sorted(found, key=lambda row: STAGES.index(row[0]))


def stages_over_time(connection: duckdb.DuckDBPyConnection, dormancy_days: int) -> Rows:
    """(week, stage, accounts): each account's stage at the end of each week; silent ones as 'dormant'."""
    return _fetch(connection, """
        with bounds as (select date_trunc('week', min(occurred_at)) as first_week, max(occurred_at) as last_at
                        from journey_touches),
             weeks as (select unnest(generate_series(first_week, last_at + interval 7 day, interval 7 day))
                                  + interval 7 day as week_end from bounds),
             grid as (select account_id, week_end from (select distinct account_id from journey_touches), weeks),
             at_week as (select grid.week_end, touches.stage, touches.occurred_at
                         from grid asof join journey_touches as touches
                           on grid.account_id = touches.account_id and grid.week_end > touches.occurred_at)
        select week_end - interval 7 day as week,
               case when week_end - occurred_at >= to_days(?::integer) then 'dormant' else stage end as state,
               count(*)
        from at_week group by all order by 1, 2
    """, [dormancy_days])


def attribution_by_channel(connection: duckdb.DuckDBPyConnection, conversion: str) -> list[Row]:
    """Every model's credit per channel for one conversion type, models side by side."""
    rows: list[Row] = []
    for model in RULE_BASED:
        rows += rule_based(connection, model, conversion, "channel")
    found = paths(connection, conversion, "channel")
    for model in DATA_DRIVEN:
        rows += data_driven(found, model, "channel", conversion)
    return rows


def scorecard(connection: duckdb.DuckDBPyConnection) -> Rows:
    """(section, metric, segment, value) of the alignment scorecard."""
    return _fetch(connection, "select section, metric, segment, value from scorecard order by all")


def sla_breaches_by_month(connection: duckdb.DuckDBPyConnection) -> Rows:
    """(month, channel of the lead, breaches)."""
    return _fetch(connection, """
        select date_trunc('month', breaches.lead_at) as month, coalesce(leads.channel, 'unknown'), count(*)
        from sla_breaches as breaches
        left join journey_touches as leads
          on leads.event_id = breaches.lead_event_id and leads.account_id = breaches.account_id
        group by all order by all
    """)


def recent_sla_breaches(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> Rows:
    """The latest breaches: account, lead time, due, channel and team of the lead."""
    return _fetch(connection, """
        select breaches.account_id, breaches.lead_at, breaches.due_at, leads.channel, leads.team, leads.event_type
        from sla_breaches as breaches
        left join journey_touches as leads
          on leads.event_id = breaches.lead_event_id and leads.account_id = breaches.account_id
        order by breaches.lead_at desc limit ?
    """, [limit])


def recent_alerts(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> Rows:
    """The latest alerts: account, what (type, rule, subject: the lead or the touch), where, how it went, tries,
    first and last try and seconds from record to delivery."""
    return _fetch(connection, """
        select account_id, type, rule, subject, destination, status, attempts, first_try_at, last_try_at,
               latency_seconds
        from alerts
        order by record_at desc nulls last, alert_id limit ?
    """, [limit])


def acceptance_by_quarter(connection: duckdb.DuckDBPyConnection) -> Rows:
    """(quarter of the lead, channel, share of the leads with a verdict that sales accepted) of marketing leads."""
    return _fetch(connection, """
        select date_trunc('quarter', lead_at) as quarter, coalesce(channel, 'unknown'),
               count(*) filter (where was_accepted) / count(*)
        from lead_quality
        where is_marketing_lead and disposition is not null
        group by all order by all
    """)


def rejection_reasons(connection: duckdb.DuckDBPyConnection) -> Rows:
    """(channel, verdict and reason, leads) of the leads sales rejected or disqualified."""
    return _fetch(connection, """
        select value, disposition || ': ' || reason, leads
        from lead_rejections
        where dimension = 'channel' and disposition in ('rejected', 'disqualified')
        order by all
    """)


def assets_by_verdict(connection: duckdb.DuckDBPyConnection, limit: int = 15) -> Rows:
    """(content asset, accepted, recycled, rejected or disqualified, awaiting a verdict) of the assets with most
    leads."""
    return _fetch(connection, """
        select value, accepted, recycled, rejected + disqualified, awaiting_disposition
        from lead_quality_by_source
        where dimension = 'content'
        order by leads desc, value limit ?
    """, [limit])


def recycled_outcomes(connection: duckdb.DuckDBPyConnection) -> Rows:
    """(month recycled, recycled leads that later converted, those that did not yet)."""
    return _fetch(connection, """
        select date_trunc('month', recycled_at) as month,
               count(*) filter (where converted_after_recycling), count(*) filter (where not converted_after_recycling)
        from lead_quality
        where was_recycled
        group by all order by all
    """)


def recycled_conversions(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> Rows:
    """The latest recycled leads that later converted: account, lead at, channel, asset, recycled at, converted at
    (an opportunity or a win, in any cycle), won at."""
    return _fetch(connection, """
        select account_id, lead_at, channel, content_id, recycled_at, converted_after_recycling_at,
               won_after_recycling_at
        from lead_quality
        where converted_after_recycling
        order by lead_at desc limit ?
    """, [limit])


def lead_response_hours(connection: duckdb.DuckDBPyConnection) -> list[float]:
    """Hours from each answered lead to its first sales or SDR touch (carried by the answering touch)."""
    return [r[0] for r in _fetch(connection, "select lead_response_hours from journey_touches "
                                             "where lead_response_hours is not null")]


def accounts(connection: duckdb.DuckDBPyConnection, limit: int = 200) -> Rows:
    """The most engaged accounts: id, stage, cycle, touches, people, re-engagements, revenue, last touch."""
    return _fetch(connection, """
        select account_id, stage, cycle, count_touches, count_people, count_reengagements,
               coalesce(revenue_by_currency, ''), last_touch_at
        from journeys order by count_touches desc, account_id limit ?
    """, [limit])


@dataclass(frozen=True, slots=True)
class AccountTouch:
    """One touch of the drill-down."""

    occurred_at: datetime
    person: str
    channel: str
    team: str
    event_type: str
    stage: str
    cycle: int
    is_reengagement: bool
    amount: float | None

    def timeline(self) -> TimelineTouch:
        """What the pure timeline helpers need."""
        return TimelineTouch(self.occurred_at, self.stage, self.cycle, self.is_reengagement)


def account_touches(connection: duckdb.DuckDBPyConnection, account_id: str) -> list[AccountTouch]:
    """One account's journey touches in order."""
    found = _fetch(connection, """
        select occurred_at, coalesce(person_label, 'unknown'),
               coalesce(channel, 'unknown'), coalesce(team, 'unknown'), event_type, stage, cycle,
               is_reengagement, amount
        from journey_touches where account_id = ? order by seq
    """, [account_id])
    return [AccountTouch(*row) for row in found]
