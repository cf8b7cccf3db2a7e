"""The dashboard's charts: Plotly figures built from the rows `sinks.dashboard_queries` returns."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go

from sinks.attribution import MODELS, Row
from sinks.dashboard_queries import STAGES, AccountTouch, Rows
from sinks.model_comparison import ChannelSpread
from transforms.evaluation import Score
from transforms.timeline import dormant_gaps, reengagements, stage_bands

STAGE_COLOURS = {"find": "#4c78a8", "engage": "#72b7b2", "close": "#f58518", "grow": "#54a24b",
                 "dormant": "#bab0ac"}
LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
                          "legend": {"orientation": "h", "y": -0.15}}


def _figure(title: str, **layout: Any) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title=title, **{**LAYOUT, **layout})
    return figure


def funnel(rows: Rows) -> go.Figure:
    """Accounts that reached each stage, and where they stand now."""
    figure = _figure("Stage funnel: accounts that reached each stage")
    stages = [stage.title() for stage, _, _ in rows]
    figure.add_trace(go.Funnel(y=stages, x=[reached for _, reached, _ in rows], name="reached",
                               marker={"color": [STAGE_COLOURS[s] for s, _, _ in rows]},
                               textinfo="value+percent initial"))
    return figure


def stages_now(rows: Rows) -> go.Figure:
    """Accounts per stage today."""
    figure = _figure("Accounts per stage now")
    figure.add_trace(go.Bar(x=[s.title() for s, _, _ in rows], y=[now for _, _, now in rows],
                            marker_color=[STAGE_COLOURS[s] for s, _, _ in rows], text=[now for _, _, now in rows]))
    return figure


def _series(rows: Rows) -> list[tuple[str, dict[Any, Any]]]:
    """(x, series, y) rows as each series' {x: y}, series in order."""
    by_series: dict[str, dict[Any, Any]] = defaultdict(dict)
    for x, name, y in rows:
        by_series[name][x] = y
    return sorted(by_series.items())


def stages_over_time(rows: Rows) -> go.Figure:
    """Accounts per stage at the end of each week, dormant accounts apart."""
    figure = _figure("Accounts per stage over time (weekly)", yaxis_title="accounts")
    series = dict(_series(rows))
    weeks = sorted({week for week, _, _ in rows})
    for state in (*STAGES, "dormant"):
        figure.add_trace(go.Scatter(x=weeks, y=[series.get(state, {}).get(w, 0) for w in weeks], name=state.title(),
                                    stackgroup="stages", mode="lines", line={"color": STAGE_COLOURS[state]}))
    return figure


def attribution_by_channel(rows: list[Row], metric: str, currency: str | None = None) -> go.Figure:
    """Channels on the x axis, one bar per model: how the model changes the story (amounts: of one currency)."""
    title = f"{metric.title()} credit by channel and model" + (f" ({currency})" if currency else "")
    figure = _figure(title, barmode="group", yaxis_title=f"{metric} ({currency})" if currency else metric)
    channels = sorted({r.value for r in rows})
    for model in MODELS:
        values: dict[str, float] = defaultdict(float)
        for row in rows:
            if row.model == model:
                values[row.value] += getattr(row, metric)  # conversions: every currency's
        if values:
            figure.add_trace(go.Bar(x=channels, y=[values.get(c, 0.0) for c in channels], name=model))
    return figure


def scorecard_funnel(rows: Rows) -> go.Figure:
    """The scorecard's stage conversion rates."""
    rates = [(metric, value) for section, metric, segment, value in rows
             if section == "funnel" and segment == "all" and value is not None and "→" in metric]
    figure = _figure("Stage conversion rates", yaxis_tickformat=".0%")
    figure.add_trace(go.Bar(x=[m for m, _ in rates], y=[v for _, v in rates], marker_color="#4c78a8"))
    return figure


def sla_breaches(rows: Rows) -> go.Figure:
    """Lead SLA breaches per month, by the lead's channel."""
    figure = _figure("Lead SLA breaches per month, by lead channel", barmode="stack", yaxis_title="breaches")
    for channel, counts in _series(rows):
        figure.add_trace(go.Bar(x=list(counts), y=list(counts.values()), name=channel))
    return figure


def acceptance_by_quarter(rows: Rows) -> go.Figure:
    """Share of marketing leads sales accepted, per quarter of the lead and channel."""
    figure = _figure("Lead acceptance by channel and quarter (of the leads with a verdict)", yaxis_tickformat=".0%")
    for channel, rates in _series(rows):
        figure.add_trace(go.Scatter(x=list(rates), y=list(rates.values()), mode="lines+markers", name=channel))
    return figure


def rejection_reasons(rows: Rows) -> go.Figure:
    """Why sales turned leads down, per channel."""
    figure = _figure("Rejection and disqualification reasons, by lead channel", barmode="stack",
                     yaxis_title="leads")
    for reason, counts in _series(rows):
        figure.add_trace(go.Bar(x=list(counts), y=list(counts.values()), name=reason))
    return figure


def assets_by_verdict(rows: Rows) -> go.Figure:
    """The content assets behind the leads, by sales' verdict."""
    figure = _figure("Content assets behind the leads, by verdict", barmode="stack", xaxis_title="leads",
                     height=120 + 28 * max(len(rows), 1))
    assets = [row[0] for row in rows]
    for index, (name, colour) in enumerate((("accepted", "#54a24b"), ("recycled", "#eeca3b"),
                                            ("rejected or disqualified", "#e45756"), ("awaiting a verdict", "#bab0ac")),
                                           start=1):
        figure.add_trace(go.Bar(y=assets, x=[row[index] for row in rows], name=name, orientation="h",
                                marker_color=colour))
    figure.update_yaxes(autorange="reversed")
    return figure


def recycled_outcomes(rows: Rows) -> go.Figure:
    """Recycled leads per month of recycling: those that later converted, and the rest."""
    figure = _figure("Recycled leads that later converted (opportunity or win)", barmode="stack",
                     yaxis_title="leads")
    months = [month for month, _, _ in rows]
    figure.add_trace(go.Bar(x=months, y=[converted for _, converted, _ in rows], name="converted later",
                            marker_color="#54a24b"))
    figure.add_trace(go.Bar(x=months, y=[rest for _, _, rest in rows], name="not (yet)", marker_color="#bab0ac"))
    return figure


def response_times(hours: list[float], sla_hours: float) -> go.Figure:
    """How long leads waited for sales or SDR, against the SLA."""
    limit = sla_hours * 4  # longer waits pile up in the last bar
    late = sum(h > limit for h in hours)
    figure = _figure(f"Lead response time (hours; {late} leads waited over {limit:g} h)",
                     xaxis_title="hours to first sales/SDR touch", yaxis_title="leads")
    figure.add_trace(go.Histogram(x=[min(h, limit) for h in hours], xbins={"start": 0, "end": limit + sla_hours / 8,
                                  "size": sla_hours / 8}, marker_color="#72b7b2", name="leads"))
    figure.add_vline(x=sla_hours, line_dash="dash", line_color="#e45756", annotation_text=f"SLA {sla_hours:g} h")
    return figure


def account_timeline(account_id: str, touches: list[AccountTouch], dormancy_days: int) -> go.Figure:
    """One account's journey: touches by person, coloured by channel and shaped by team, over stage bands."""
    people = sorted({t.person for t in touches})
    figure = _figure(f"Journey of {account_id}", height=max(380, 90 + 28 * len(people)),
                     yaxis={"categoryorder": "array", "categoryarray": people, "title": "person"})
    timeline = [t.timeline() for t in touches]
    bands = stage_bands(timeline)
    labelled_days = sum(b.days for b in bands) / 25  # label the bands wide enough to read
    for band in bands:
        figure.add_vrect(x0=band.start, x1=band.end, fillcolor=STAGE_COLOURS[band.label], opacity=0.15,
                         line_width=0, layer="below", annotation_position="top left",
                         annotation_text=band.label.title() if band.days >= labelled_days else "")
    for gap in dormant_gaps(timeline, timedelta(days=dormancy_days)):
        figure.add_vrect(x0=gap.start, x1=gap.end, fillcolor=STAGE_COLOURS["dormant"], opacity=0.35, line_width=0,
                         layer="below", annotation_text=f"dormant {gap.days:.0f} d", annotation_position="bottom left")
    for at in reengagements(timeline):
        figure.add_vline(x=at, line_dash="dot", line_color="#e45756")
    symbols = {"marketing": "circle", "sdr": "diamond", "sales": "square", "customer_success": "star",
               "partner": "triangle-up"}
    for channel in sorted({t.channel for t in touches}):
        mine = [t for t in touches if t.channel == channel]
        figure.add_trace(go.Scatter(
            x=[t.occurred_at for t in mine], y=[t.person for t in mine], mode="markers", name=channel,
            marker={"size": 11, "symbol": [symbols.get(t.team, "x") for t in mine], "line": {"width": 1}},
            customdata=[[t.event_type, t.team, t.stage.title(), t.cycle, t.amount or ""] for t in mine],
            hovertemplate="%{x}<br>%{y}<br>%{customdata[0]} by %{customdata[1]}<br>"
                          "stage %{customdata[2]}, cycle %{customdata[3]} %{customdata[4]}<extra>%{fullData.name}"
                          "</extra>"))
    return figure


def spend_and_return(rows: Rows, currency: str) -> go.Figure:
    """Per month and channel, what was spent beside the won revenue its touches were credited with (one currency)."""
    figure = _figure(f"Spend and credited won revenue by channel and month ({currency})", barmode="group",
                     yaxis_title=currency)
    labels = [f"{month:%Y-%m} · {channel}" for month, channel, *_ in rows]
    figure.add_trace(go.Bar(x=labels, y=[row[3] for row in rows], name="spend", marker_color="#e45756"))
    figure.add_trace(go.Bar(x=labels, y=[row[4] for row in rows], name="credited won revenue",
                            marker_color="#54a24b"))
    return figure


def roas_by_campaign(rows: Rows, currency: str) -> go.Figure:
    """Return on ad spend per campaign (credited won revenue ÷ spend), in one currency."""
    figure = _figure(f"ROAS by campaign ({currency})", xaxis_title="credited won revenue per unit of spend",
                     height=120 + 28 * max(len(rows), 1))
    figure.add_trace(go.Bar(y=[row[1] or row[0] for row in rows], x=[row[6] for row in rows], orientation="h",
                            name="ROAS", marker_color="#4c78a8"))
    figure.update_yaxes(autorange="reversed")
    return figure


def cohorts(rows: Rows) -> go.Figure:
    """Per first-touch month (rows) and months since (columns), the share of the cohort's accounts that had
    reached a lead, an opportunity and a won deal: a heatmap per milestone."""
    from plotly.subplots import make_subplots

    milestones = ("lead", "opportunity", "won")
    figure = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=[f"reached {m}" for m in milestones],
                           horizontal_spacing=0.04)
    figure.update_layout(title="Account cohorts by first-touch month: share that reached each milestone",
                         **{**LAYOUT, "height": 220 + 26 * len({row[0] for row in rows})})
    sizes = {row[0]: row[2] for row in rows}
    label = {month: f"{month:%Y-%m} ({sizes[month]:,})" for month in sizes}
    for column, milestone in enumerate(milestones, start=1):
        figure.add_trace(go.Heatmap(
            x=[row[1] for row in rows], y=[label[row[0]] for row in rows], z=[row[3 + column - 1] for row in rows],
            zmin=0, zmax=1, colorscale="Blues", showscale=column == 3, name=milestone,
            hovertemplate="%{y}, month %{x}: %{z:.0%} " + milestone + "<extra></extra>"), row=1, col=column)
        figure.update_xaxes(title_text="months since first touch", dtick=1, row=1, col=column)
    figure.update_yaxes(autorange="reversed", type="category")
    return figure


def time_lag(rows: Rows, conversion: str) -> go.Figure:
    """Per channel, the credit its touches earned by days from touch to conversion (one conversion type)."""
    figure = _figure(f"Time lag: credited {conversion} conversions by days from touch to conversion",
                     barmode="stack", xaxis_title="days before the conversion", yaxis_title="credited conversions")
    buckets = list(dict.fromkeys(row[1] for row in rows))
    for channel in sorted({row[0] for row in rows}):
        credit = {row[1]: row[2] for row in rows if row[0] == channel}
        figure.add_trace(go.Bar(x=buckets, y=[credit.get(bucket, 0) for bucket in buckets], name=channel))
    return figure


def model_spread(spreads: list[ChannelSpread], truth: dict[str, float] | None = None) -> go.Figure:
    """Per channel, each model's credited conversions as a point (Markov and Shapley with their bootstrap bars),
    and the true increments (scaled to the credited total) when known."""
    figure = _figure("Credited conversions per channel: where the models disagree", yaxis_title="conversions",
                     scattermode="group")
    channels = [s.channel for s in spreads]
    for model in [m for m in MODELS if any(m in s.credits for s in spreads)]:
        values = [s.credits.get(model, 0.0) for s in spreads]
        error = None
        if any(model in s.low for s in spreads):
            error = {"type": "data", "symmetric": False,
                     "array": [s.high.get(model, v) - v for s, v in zip(spreads, values, strict=True)],
                     "arrayminus": [v - s.low.get(model, v) for s, v in zip(spreads, values, strict=True)]}
        figure.add_trace(go.Scatter(x=channels, y=values, name=model, mode="markers", error_y=error,
                                    marker={"size": 9 if error else 7}))
    if truth:
        credited = sum(sum(s.credits.values()) / len(s.credits) for s in spreads if s.channel in truth)
        whole = sum(truth.values())
        figure.add_trace(go.Scatter(x=channels, y=[credited * truth.get(c, 0.0) / whole if whole else 0.0
                                                   for c in channels],
                                    name="truth (scaled)", mode="markers",
                                    marker={"symbol": "x", "size": 12, "color": "#000"}))
    return figure


def model_errors(scores: list[Score]) -> go.Figure:
    """Each model's total absolute share error against the truth, best first."""
    figure = _figure("Error against the truth: total absolute share error (0 is right)", yaxis_title="error")
    ordered = sorted(scores, key=lambda s: (s.total_absolute_error, s.model))
    figure.add_trace(go.Bar(x=[s.model for s in ordered], y=[s.total_absolute_error for s in ordered],
                            marker_color="#4c78a8", text=[f"{s.total_absolute_error:.2f}" for s in ordered]))
    return figure
