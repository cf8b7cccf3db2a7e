"""The dashboard's pages as HTML: one session over the lake, charts from `dashboard.figures`.

:class:`Report` reads the lake once (one :func:`sinks.attribution.open_lake` session) and
renders each page; the server keeps one per lake version, the static report renders them all
into one self-contained file.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import plotly.graph_objects as go

from dashboard import figures
from sinks import dashboard_queries as queries
from sinks import returns
from sinks.attribution import CONVERSIONS, open_lake
from sinks.evaluation import EVALUATED, Evaluation, evaluate
from sinks.model_comparison import model_spreads
from sinks.storage import LakeRoot
from transforms.settings import DEFAULT_JOURNEY


@dataclass(frozen=True, slots=True)
class Page:
    """A titled page body."""

    slug: str
    title: str
    body: str


NAV = (("overview", "Journeys"), ("attribution", "Attribution"), ("scorecard", "Scorecard"),
       ("sla", "Lead SLA"), ("lead-quality", "Lead quality"), ("spend", "Spend and return"), ("models", "Models"),
       ("accounts", "Accounts"))

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1f2d3d; color: #fff; padding: 0.6rem 1.2rem; display: flex; gap: 1.2rem; align-items: center; }
header a { color: #cfe3ff; text-decoration: none; } header a.current { color: #fff; font-weight: 600; }
header .brand { font-weight: 700; margin-right: 1rem; } header .status { margin-left: auto; font-size: 0.8rem; }
main { padding: 1rem 1.5rem; } section { margin-bottom: 2.5rem; }
.chart { background: #fff; border: 1px solid #e5e5e5; border-radius: 6px; margin: 0.8rem 0; }
table { border-collapse: collapse; background: #fff; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.3rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #777; font-style: italic; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def chart(figure: go.Figure, name: str) -> str:
    """A figure as a div (Plotly's script is loaded once per page)."""
    return f'<div class="chart" data-chart="{name}">' + figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config={"displaylogo": False}) + "</div>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="num">{value:,.4g}</td>' if abs(value) < 1 else f'<td class="num">{value:,.2f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, datetime):
        return f"<td>{value:%Y-%m-%d %H:%M}</td>"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


#: The Lead SLA page's alerts table (sinks.dashboard_queries.recent_alerts): the subject is the lead, or the touch.
ALERT_COLUMNS = ("account", "alert", "rule", "subject", "destination", "status", "tries", "first try", "last try",
                 "latency (s)")


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, links: dict[int, str] | None = None) -> str:
    """An HTML table; ``links`` maps a column index to a URL prefix for its values."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    lines = []
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            if links and index in links:
                cells.append(f'<td><a href="{links[index]}{quote(str(value))}">{html.escape(str(value))}</a></td>')
            else:
                cells.append(_cell(value))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    if not lines:
        return '<p class="empty">nothing has landed here yet</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


class Report:
    """Every page of the dashboard over one reading of the lake."""

    def __init__(self, lake: LakeRoot, *, dormancy_days: int = DEFAULT_JOURNEY.dormancy_days,
                 lead_sla_hours: float = DEFAULT_JOURNEY.lead_sla_hours,
                 account_link: str = "/accounts/", truth: Mapping[str, Any] | None = None) -> None:
        self.lake = lake
        self.truth = truth
        self._evaluation: Evaluation | None = None
        self.dormancy_days = dormancy_days
        self.lead_sla_hours = lead_sla_hours
        self.account_link = account_link
        self.connection = open_lake(lake)
        self.connection.execute("set variable touchline_lead_sla_hours = ?", [lead_sla_hours])

    def close(self) -> None:
        """Release the session."""
        self.connection.close()

    def overview(self) -> Page:
        """The stage funnel and the stages over time."""
        stages = queries.funnel(self.connection)
        waiting = queries.unresolved_touches(self.connection)
        note = (f'<p id="unresolved">{waiting:,} touches wait for identity: on no account\'s journey yet (an '
                "anonymous visitor not identified, a company domain no touch has tied to an account, free mail); "
                "the <code>unresolved_touches</code> view lists them.</p>")
        return Page("overview", "Journeys", note + chart(figures.funnel(stages), "funnel")
                    + chart(figures.stages_now(stages), "stages-now")
                    + chart(figures.stages_over_time(queries.stages_over_time(self.connection, self.dormancy_days)),
                            "stages-over-time"))

    def attribution(self, conversion: str = "closed_won") -> Page:
        """Every model's credit by channel, side by side."""
        if conversion not in CONVERSIONS:
            raise ValueError(f"conversion must be one of {', '.join(CONVERSIONS)}, not {conversion!r}")
        rows = queries.attribution_by_channel(self.connection, conversion)
        links = " · ".join(f'<a href="?conversion={c}">{c}</a>' if c != conversion else f"<b>{c}</b>"
                           for c in CONVERSIONS)
        detail = table(["model", "channel", "conversions", "revenue", "pipeline", "currency"],
                       [(r.model, r.value, r.conversions, r.revenue, r.pipeline, r.currency) for r in rows])
        money = "pipeline" if conversion == "opportunity" else "revenue"
        currencies = sorted({r.currency or "" for r in rows if getattr(r, money)})
        if currencies:  # one chart per currency: amounts in different currencies are never added up
            value_chart = "".join(chart(figures.attribution_by_channel([r for r in rows if (r.currency or "") == c],
                                                                       money, c), f"attribution-{money}-{c}")
                                  for c in currencies)
        else:
            value_chart = (f'<p class="empty" id="attribution-{money}">No {money} to credit: '
                           + ("a lead carries no amount; its value shows in the opportunities and deals it led to."
                              if conversion == "lead" else f"no {conversion} conversion in the lake has an amount.")
                           + "</p>")
        return Page("attribution", f"Attribution of {conversion}", f"<p>Conversion: {links}</p>" + value_chart
                    + chart(figures.attribution_by_channel(rows, "conversions"), "attribution-conversions")
                    + f"<details><summary>Credits as a table</summary>{detail}</details>")

    def scorecard(self) -> Page:
        """The sales–marketing alignment scorecard."""
        rows = queries.scorecard(self.connection)
        return Page("scorecard", "Sales–marketing alignment", chart(figures.scorecard_funnel(rows), "scorecard-funnel")
                    + table(["section", "metric", "segment", "value"], rows))

    def sla(self) -> Page:
        """Lead SLA breaches and response times."""
        return Page("sla", f"Lead SLA ({self.lead_sla_hours:g} h)",
                    chart(figures.sla_breaches(queries.sla_breaches_by_month(self.connection)), "sla-breaches")
                    + chart(figures.response_times(queries.lead_response_hours(self.connection), self.lead_sla_hours),
                            "response-times")
                    + "<h3>Latest breaches</h3>"
                    + table(["account", "lead at", "due at", "channel", "team", "lead event"],
                            queries.recent_sla_breaches(self.connection), links={0: self.account_link})
                    + "<h3>Latest alerts</h3>"
                    + table(list(ALERT_COLUMNS), queries.recent_alerts(self.connection), links={0: self.account_link}))

    def lead_quality(self) -> Page:
        """Sales' verdicts on the leads: acceptance and rejection reasons per channel, the assets behind accepted
        and rejected leads, and recycled leads that later converted."""
        return Page("lead-quality", "Lead quality",
                    chart(figures.acceptance_by_quarter(queries.acceptance_by_quarter(self.connection)),
                          "lead-acceptance")
                    + chart(figures.rejection_reasons(queries.rejection_reasons(self.connection)), "rejection-reasons")
                    + chart(figures.assets_by_verdict(queries.assets_by_verdict(self.connection)), "lead-assets")
                    + chart(figures.recycled_outcomes(queries.recycled_outcomes(self.connection)), "recycled-leads")
                    + "<h3>Recycled leads that later converted</h3>"
                    + table(["account", "lead at", "channel", "asset", "recycled at", "converted at", "won at"],
                            queries.recycled_conversions(self.connection), links={0: self.account_link}))

    def spend(self) -> Page:
        """Spend beside the revenue credited to it (w_shaped), per channel and month, and ROAS by campaign: one
        chart of each per currency, never a sum of two; then how long returns take: account cohorts by
        first-touch month, and the time lag from each channel's touches to the deals they were credited with."""
        return Page("spend", "Spend and return", self._spend_and_return() + self._lag_and_cohorts())

    def _spend_and_return(self) -> str:
        monthly = returns.spend_and_return_by_month(self.connection)
        campaigns = returns.roas_by_campaign(self.connection)
        currencies = sorted({row[2] for row in monthly} | {row[3] for row in campaigns})
        if not any(row[3] for row in monthly):  # credited revenue alone is the Attribution page's
            return ('<p class="empty" id="spend-empty">No spend in the lake yet: <code>touchline import spend FILE '
                    "--format google_ads|linkedin_ads|meta_ads|ga4_cost|csv</code> brings the platforms' exports "
                    "in.</p>")
        body = ""
        for currency in currencies:
            body += chart(figures.spend_and_return([r for r in monthly if r[2] == currency], currency),
                          f"spend-return-{_slug(currency)}")
            spent = [r for r in campaigns if r[3] == currency]
            if spent:
                body += chart(figures.roas_by_campaign(spent, currency), f"roas-{_slug(currency)}")
        return body + "<h3>Campaigns</h3>" + table(
            ["campaign", "name", "channel", "currency", "spend", "credited won revenue", "ROAS", "CAC",
             "cost per opportunity"], campaigns)

    def _lag_and_cohorts(self) -> str:
        lag = returns.time_lag(self.connection, "closed_won")
        cohorts = returns.cohorts(self.connection)
        body = "<h3>How long returns take</h3>"
        if lag:
            medians = sorted({(row[0], row[4]) for row in lag})
            body += (chart(figures.time_lag(lag, "closed_won"), "time-lag")
                     + table(["channel", "median days from touch to won deal"], medians))
        else:
            body += '<p class="empty" id="time-lag-empty">No won deal credited to a touch yet.</p>'
        if cohorts:
            body += chart(figures.cohorts(cohorts), "cohorts")
        else:
            body += '<p class="empty" id="cohorts-empty">No account journeys yet.</p>'
        return body

    def models(self, conversion: str = "closed_won") -> Page:
        """How far the models disagree per channel (Markov and Shapley with bootstrap bars) and, with a causal
        truth, how far each is from it."""
        if conversion not in EVALUATED:
            raise ValueError(f"conversion must be one of {', '.join(EVALUATED)}, not {conversion!r}")
        links = " · ".join(f'<a href="?conversion={c}">{c}</a>' if c != conversion else f"<b>{c}</b>"
                           for c in EVALUATED)
        spreads = model_spreads(self.connection, conversion)
        truth = None
        scored = ""
        if self.truth is not None:
            truth = {c: float(s[conversion]["incremental_conversions"]) for c, s in self.truth["channels"].items()}
            if self._evaluation is None:
                self._evaluation = evaluate(self.lake, self.truth)
            scores = [s for s in self._evaluation.scores if s.conversion == conversion and s.basis == "conversions"]
            fits = self._evaluation.fits.get(conversion, [])
            scored = (chart(figures.model_errors(scores), "models-error")
                      + table(["model", "total abs error", "spearman", "worst channel", "its error"],
                              [(s.model, s.total_absolute_error, s.spearman, s.worst.channel, s.worst.error)
                               for s in scores])
                      + "<h3>Markov orders on held-out journeys</h3>"
                      + table(["order", "log-likelihood per journey", "conversion AUC"],
                              [(f.order, f.per_journey, f.auc) for f in fits]))
        else:
            scored = ('<p class="empty" id="models-no-truth">No truth to score against: start the dashboard with '
                      "<code>--truth FILE</code> from <code>touchline generate --causal --truth FILE</code>.</p>")
        spread_table = table(["channel", "lowest model", "its credit", "highest model", "its credit", "spread"],
                             [(s.channel, *s.lowest, *s.highest, s.spread) for s in spreads])
        return Page("models", f"Models on {conversion}", f"<p>Conversion: {links}</p>" + scored
                    + chart(figures.model_spread(spreads, truth), "models-disagreement")
                    + "<h3>Where the models disagree most</h3>" + spread_table)

    def accounts(self, limit: int = 200) -> Page:
        """The most engaged accounts, each linking to its journey."""
        rows = queries.accounts(self.connection, limit)
        return Page("accounts", "Accounts", table(
            ["account", "stage", "cycle", "touches", "people", "re-engagements", "revenue", "last touch"], rows,
            links={0: self.account_link}))

    def account(self, account_id: str) -> Page | None:
        """One account's journey as a timeline, or None if the lake has no such account."""
        touches = queries.account_touches(self.connection, account_id)
        if not touches:
            return None
        rows = [(t.occurred_at, t.person, t.channel, t.team, t.event_type, t.stage, t.cycle,
                 "yes" if t.is_reengagement else "", t.amount) for t in touches]
        columns = ["at", "person", "channel", "team", "event", "stage", "cycle", "re-engagement", "amount"]
        timeline = figures.account_timeline(account_id, touches, self.dormancy_days)
        return Page(f"account-{account_id}", f"Account {account_id}",
                    chart(timeline, f"account-timeline-{_slug(account_id)}")
                    + f"<details><summary>Touches as a table</summary>{table(columns, rows)}</details>")

    def top_account_ids(self, count: int) -> list[str]:
        """The ``count`` most engaged accounts."""
        return [row[0] for row in queries.accounts(self.connection, count)]


def document(title: str, body: str, *, plotly_script: str, nav: Sequence[tuple[str, str, bool]],
             head: str = "", status: str = "") -> str:
    """A whole HTML page around ``body``; ``nav`` is (href, label, is_current) per link."""
    links = "".join(f'<a href="{href}"{" class=current" if current else ""}>{html.escape(label)}</a>'
                    for href, label, current in nav)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · Touchline</title>"
            "<meta name=viewport content='width=device-width, initial-scale=1'><link rel=icon href='data:,'>"
            f"<style>{STYLE}</style>"
            f"{plotly_script}{head}</head><body><header><span class=brand>Touchline</span>{links}"
            f"<span class=status id=status>{html.escape(status)}</span></header><main>{body}</main></body></html>")


def section(page: Page) -> str:
    """A page as a titled section of a document."""
    return f'<section id="{html.escape(page.slug)}"><h2>{html.escape(page.title)}</h2>{page.body}</section>'
