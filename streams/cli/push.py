"""``touchline push salesforce|hubspot``: the lake's attribution written back to the CRM."""

from __future__ import annotations

import click

from sinks.attribution import RULE_BASED
from streams.cli.lake_option import chosen_lake, lake_option
from streams.cli.stopping import stopper
from streams.services.push import push_once
from streams.settings import Settings
from transforms.crm_push import hubspot_property_names


def _models(value: str) -> list[str]:
    models = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in models if m not in RULE_BASED]
    if unknown or not models:
        raise click.BadParameter(f"unknown model(s) {', '.join(unknown) or '(none)'}; choose from "
                                 f"{', '.join(RULE_BASED)}")
    return models


@click.command(name="push")
@click.argument("crm", type=click.Choice(["salesforce", "hubspot"]))
@click.option("--model", "models", default="w_shaped", show_default=True, callback=lambda _c, _p, v: _models(v),
              help="Rule-based models to write back (comma-separated).")
@click.option("--follow", is_flag=True, help="Keep pushing, every --every seconds, until stopped (SIGTERM, Ctrl-C).")
@click.option("--every", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS",
              help="With --follow: the pause between two pushes.")
@lake_option
def push_command(crm: str, models: list[str], follow: bool, every: float, lake: str | None) -> None:
    """Write each opportunity's touch credit to the CRM; a rerun changes nothing, vanished credit is deleted.

    With --follow, push again every --every seconds what the lake's credit changed since; a stop
    (SIGTERM, Ctrl-C) lets the round under way finish and record what the CRM acknowledged.
    """
    from streams.crm.crm_push import Api, PushError, ensure_hubspot_properties

    settings = Settings()
    if crm == "salesforce" and not (settings.salesforce_instance_url and settings.salesforce_access_token):
        raise click.UsageError("push salesforce needs TOUCHLINE_SALESFORCE_INSTANCE_URL and "
                               "TOUCHLINE_SALESFORCE_ACCESS_TOKEN")
    if crm == "hubspot" and not settings.hubspot_token:
        raise click.UsageError("push hubspot needs TOUCHLINE_HUBSPOT_TOKEN")
    secret = settings.salesforce_access_token if crm == "salesforce" else settings.hubspot_token
    assert secret is not None
    api = Api(secret.get_secret_value(), settings.push_timeout_seconds, settings.push_retry_seconds,
              say=lambda line: click.echo(line, err=True))
    store = chosen_lake(lake)
    stop = stopper() if follow else None
    try:
        if crm == "hubspot":
            created = ensure_hubspot_properties(api, settings.hubspot_api_url, hubspot_property_names(models))
            if created:
                click.echo(f"created {created} deal properties", err=True)
        while True:
            done = push_once(crm, models, store, settings, api)
            click.echo(f"{crm}: {done.written} written, {done.removed} removed, {done.calls} calls"
                       + (f", {len(done.failures)} refused" if done.failures else ""))
            for failure in done.failures[:20]:
                click.echo(f"refused: {failure}", err=True)
            if stop is None:
                if done.failures:
                    raise SystemExit(1)
                return
            if stop.is_set() or stop.wait(every):
                return
    except PushError as error:
        raise click.ClickException(str(error)) from None

