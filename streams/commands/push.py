"""``touchline push salesforce|hubspot``: the lake's attribution written back to the CRM."""

from __future__ import annotations

import click

from sinks.attribution import RULE_BASED, open_lake
from sinks.crm_push import opportunity_credits, read_ledger, write_ledger
from streams.commands.lake_option import chosen_lake, lake_option
from streams.settings import Settings
from transforms.crm_push import hubspot_properties, hubspot_property_names, salesforce_records


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
@lake_option
def push_command(crm: str, models: list[str], lake: str | None) -> None:
    """Write each opportunity's touch credit to the CRM; a rerun changes nothing, vanished credit is deleted."""
    from streams.crm_push import PushError, ensure_hubspot_properties, push_hubspot, push_salesforce

    settings = Settings()
    store = chosen_lake(lake)
    connection = open_lake(store.root)
    try:
        credits = opportunity_credits(connection, models, crm)
    finally:
        connection.close()
    ledger = read_ledger(store.storage, crm)
    try:
        if crm == "salesforce":
            if not settings.salesforce_instance_url or not settings.salesforce_access_token:
                raise click.UsageError("push salesforce needs TOUCHLINE_SALESFORCE_INSTANCE_URL and "
                                       "TOUCHLINE_SALESFORCE_ACCESS_TOKEN")
            done = push_salesforce(settings.salesforce_instance_url, settings.salesforce_api_version,
                                   settings.salesforce_access_token.get_secret_value(), salesforce_records(credits),
                                   ledger)
        else:
            if not settings.hubspot_token:
                raise click.UsageError("push hubspot needs TOUCHLINE_HUBSPOT_TOKEN")
            token, names = settings.hubspot_token.get_secret_value(), hubspot_property_names(models)
            created = ensure_hubspot_properties(settings.hubspot_api_url, token, names)
            if created:
                click.echo(f"created {created} deal properties", err=True)
            done = push_hubspot(settings.hubspot_api_url, token, hubspot_properties(credits, models), names, ledger)
    except PushError as error:
        raise click.ClickException(str(error)) from None
    finally:
        write_ledger(store.storage, crm, ledger)  # what was acknowledged, even when a later call failed
    click.echo(f"{crm}: {done.written} written, {done.removed} removed, {done.calls} calls"
               + (f", {len(done.failures)} refused" if done.failures else ""))
    for failure in done.failures[:20]:
        click.echo(f"refused: {failure}", err=True)
    if done.failures:
        raise SystemExit(1)
