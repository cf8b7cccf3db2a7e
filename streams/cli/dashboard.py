"""``touchline dashboard``: journeys, attribution, scorecard, SLA and account drill-downs in a browser."""

from __future__ import annotations

import json
from pathlib import Path

import click

from streams.cli.lake_option import chosen_lake, lake_option
from streams.settings import Settings
from transforms.settings import DEFAULT_JOURNEY


@click.command(name="dashboard")
@lake_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML report here instead of serving.")
@click.option("--host", help="Address to bind (default TOUCHLINE_DASHBOARD_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default TOUCHLINE_DASHBOARD_PORT, 8050).")
@click.option("--accounts", default=10, show_default=True, type=click.IntRange(min=0),
              help="--out: account drill-downs to include.")
@click.option("--dormancy-days", default=DEFAULT_JOURNEY.dormancy_days, show_default=True, type=click.IntRange(min=1),
              help="Silence drawn as a dormant gap.")
@click.option("--lead-sla-hours", default=DEFAULT_JOURNEY.lead_sla_hours, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="The SLA line on the response-time chart.")
@click.option("--truth", "truth_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A causal truth (touchline generate --causal --truth FILE): the Models page scores every model "
                   "against it.")
def dashboard_command(lake: str | None, out: Path | None, host: str | None, port: int | None, accounts: int,
                      dormancy_days: int, lead_sla_hours: float, truth_file: Path | None) -> None:
    """Serve the dashboard on 127.0.0.1 (live: pages reload as touches land), or write a static report."""
    from aiohttp import web

    from dashboard.server import application, write_static

    overrides = {k: v for k, v in {"dashboard_host": host, "dashboard_port": port}.items() if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    root = chosen_lake(lake).root
    rules: dict[str, object] = {"dormancy_days": dormancy_days, "lead_sla_hours": lead_sla_hours}
    if truth_file is not None:
        from sinks.evaluation import BadTruth, check_truth

        try:
            rules["truth"] = check_truth(json.loads(truth_file.read_text(encoding="utf-8")))
        except (BadTruth, json.JSONDecodeError) as error:
            raise click.BadParameter(str(error), param_hint="--truth") from None
    if out is not None:
        size = write_static(root, out, accounts=accounts, **rules)
        click.echo(f"wrote {out} ({size / 1e6:.1f} MB, self-contained)", err=True)
        return
    url = f"http://{settings.dashboard_host}:{settings.dashboard_port}/"
    click.echo(f"dashboard on {url} over {root} (Ctrl-C to stop)", err=True)
    web.run_app(application(root, **rules), host=settings.dashboard_host, port=settings.dashboard_port,
                print=None)
