"""``touchline scorecard``: the sales–marketing alignment scorecard over a lake."""

from __future__ import annotations

from pathlib import Path

import click

from sinks.attribution import DATA_DRIVEN, MODELS, RULE_BASED, MissingRate, open_lake
from streams.cli.lake_option import chosen_lake, lake_option
from streams.cli.money import checked_money, money_options
from streams.cli.sql import print_result
from streams.services.scorecard import campaign_revenue, data_driven_shares, imported_spend
from transforms.settings import DEFAULT_ATTRIBUTION

SECTIONS = ["attainment", "lead generation", "service level", "closed loop", "funnel", "revenue", "growth", "spend"]


@click.command(name="scorecard")
@lake_option
@click.option("--model", type=click.Choice(MODELS), default="w_shaped", show_default=True,
              help="The attribution model behind the revenue and pipeline shares and ROAS (ROAS from imported "
                   "spend: a rule-based model; a data-driven one's is w_shaped's, as a note says).")
@click.option("--lead-sla-hours", type=click.FloatRange(min=0, min_open=True),
              help="Check that the lake's SLA breaches were judged with this SLA (they are judged when the lake "
                   "is stitched: `replay --lead-sla-hours` judges them anew).")
@click.option("--target", type=click.FloatRange(min=0, min_open=True), help="Revenue target, for attainment.")
@click.option("--target-currency", metavar="CODE",
              help="The target's currency (needed when won deals are in several currencies).")
@click.option("--spend", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of campaign_id,month,amount,currency: adds cost-to-revenue and ROAS per campaign "
                   "[default: the spend the lake holds (touchline import spend), if any].")
@click.option("--lookback-days", default=DEFAULT_ATTRIBUTION.lookback_days, show_default=True,
              type=click.IntRange(min=1))
@money_options
@click.option("--format", "fmt", type=click.Choice(["auto", "table", "csv", "json"]), default="auto",
              show_default=True)
def scorecard_command(lake: str | None, model: str, lead_sla_hours: float | None, target: float | None,
                      target_currency: str | None, spend: Path | None, lookback_days: int,
                      reporting_currency: str | None, rates: Path | None, fmt: str) -> None:
    """Attainment, lead generation, service level, funnel, revenue and growth, from the same journeys."""
    try:
        connection = open_lake(chosen_lake(lake).root, lookback_days=lookback_days,
                               **checked_money(reporting_currency, rates))
    except MissingRate as error:
        raise click.UsageError(str(error)) from None
    if lead_sla_hours is not None:
        judged = [h for (h,) in connection.execute("select distinct lead_sla_hours from sla_breaches").fetchall()]
        if any(hours != lead_sla_hours for hours in judged):
            raise click.UsageError(f"the lake's SLA breaches were judged at {', '.join(f'{h:g}' for h in judged)} h, "
                                   f"not {lead_sla_hours:g} h: `touchline replay --lead-sla-hours "
                                   f"{lead_sla_hours:g}` judges them anew")
    connection.execute("set variable touchline_scorecard_model = ?", [model])
    if target is not None:
        connection.execute("set variable touchline_revenue_target = ?", [target])
        won = [c for (c,) in connection.execute("select distinct currency from conversions "
                                                "where conversion_type = 'closed_won' order by 1").fetchall()]
        if target_currency is None and len(won) > 1:
            raise click.UsageError(f"won deals are in {', '.join(won)}: give --target-currency for --target")
    if target_currency is not None:
        connection.execute("set variable touchline_target_currency = ?", [target_currency.upper()])
    rows = connection.execute("select section, metric, segment, value from scorecard").fetchall()
    if model in DATA_DRIVEN:
        rows += data_driven_shares(connection, model)
    if spend is not None:
        connection.execute("create temp table campaign_revenue (campaign_id varchar, currency varchar, revenue double)")
        connection.executemany("insert into campaign_revenue values (?, ?, ?)", campaign_revenue(connection, model))
        rows += connection.execute(
            "with spend as (select campaign_id, upper(currency) as currency, sum(amount) as spend "
            "               from read_csv(?, header = true, columns = {'campaign_id': 'varchar', "
            "                   'month': 'varchar', 'amount': 'double', 'currency': 'varchar'}) group by 1, 2) "
            "select 'spend', metric, spend.campaign_id || ' ' || spend.currency, value from spend "
            "left join campaign_revenue as revenue "
            "  on revenue.campaign_id = spend.campaign_id and revenue.currency = spend.currency, "
            "lateral (values ('spend', spend.spend), ('attributed revenue', coalesce(revenue.revenue, 0)), "
            "                ('ROAS', coalesce(revenue.revenue, 0) / nullif(spend.spend, 0)), "
            "                ('cost to revenue', spend.spend / nullif(revenue.revenue, 0))) as m(metric, value)",
            [str(spend)]).fetchall()
    elif connection.execute("select count(*) from ad_spend").fetchone()[0]:  # type: ignore[index]
        if model not in RULE_BASED:
            click.echo(f"note: the spend section credits revenue under w_shaped, not {model}: the return marts "
                       "(campaign_performance) take a rule-based model", err=True)
        rows += imported_spend(connection, model)
    connection.close()
    rows.sort(key=lambda r: (SECTIONS.index(r[0]), r[1], r[2]))
    print_result(["section", "metric", "segment", "value"],
                 [(s, m, g, None if v is None else round(float(v), 4)) for s, m, g, v in rows], fmt)

