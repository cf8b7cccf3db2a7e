"""``touchline sync``: CRMs pulled incrementally into ``touches-raw-v1``, on durable cursors."""

from __future__ import annotations

import click

from streams.cli.lake_option import lake_option
from streams.cli.stopping import stopper
from streams.cli.sync_hubspot import sync_hubspot
from streams.settings import Settings


@click.group(name="sync")
def sync_command() -> None:
    """Pull CRM records changed since the last sync (cursors kept beside the lake)."""


@sync_command.command(name="salesforce")
@click.option("--instance-url", required=True, envvar="TOUCHLINE_SALESFORCE_INSTANCE_URL", metavar="URL",
              help="The org's My Domain URL, https://NAME.my.salesforce.com [default: "
                   "TOUCHLINE_SALESFORCE_INSTANCE_URL].")
@click.option("--follow", is_flag=True, help="Keep syncing, every --every seconds, until stopped.")
@click.option("--every", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS",
              help="With --follow: the pause between two syncs.")
@click.option("--since", metavar="DATE", help="Start objects that have no cursor yet here (a date or an RFC 3339 "
                                              "date-time) rather than at the org's beginning.")
@click.option("--currency", metavar="CODE", envvar="TOUCHLINE_CRM_CURRENCY",
              callback=lambda _, __, value: value.upper() if value else None,
              help="The org's currency, for a single-currency org's deals [default: TOUCHLINE_CRM_CURRENCY].")
@lake_option
def salesforce_command(instance_url: str, follow: bool, every: float, since: str | None, currency: str | None,
                       lake: str | None) -> None:
    """Pull Opportunity, OpportunityHistory, OpportunityContactRole, Lead, LeadHistory, Contact, CampaignMember,
    Task and Event records into touches-raw-v1, as `touchline import salesforce` reads their exports (source
    salesforce:<org id>).

    Each object's cursor moves only once the broker acknowledged every touch it covers, so a sync stopped at any
    point and started again loses nothing (and what it repeats, the pipeline de-duplicates).
    """
    import requests

    from sinks.storage import Storage
    from streams import topics
    from streams.crm.salesforce_api import Credentials, SalesforceClient, SalesforceError
    from streams.crm.salesforce_sync import SalesforceSync, soql_time
    from streams.runtime.kafka_python_clients import create_topics
    from streams.runtime.librdkafka_clients import fast_producer

    settings = Settings()
    if not settings.kafka_bootstrap:
        raise click.UsageError("set TOUCHLINE_KAFKA_BOOTSTRAP (the cluster touches-raw-v1 lives on)")
    if since:
        try:
            soql_time(since)
        except ValueError as exc:
            raise click.BadParameter(f"{since!r}: {exc}", param_hint="--since") from exc
    secret = settings.salesforce_client_secret
    token = settings.salesforce_access_token
    try:
        client = SalesforceClient(instance_url, Credentials(
            token.get_secret_value() if token else None, settings.salesforce_client_id,
            secret.get_secret_value() if secret else None), backoff_seconds=settings.salesforce_backoff_seconds,
            version=settings.salesforce_api_version)
        org = client.organization_id()
    except SalesforceError as exc:
        raise click.ClickException(str(exc)) from exc
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach {instance_url}: {exc}") from exc
    if settings.salesforce_org_id and settings.salesforce_org_id[:15] != org[:15]:
        raise click.ClickException(f"{instance_url} is org {org}, not TOUCHLINE_SALESFORCE_ORG_ID "
                                   f"{settings.salesforce_org_id}")
    lake_settings = settings.lake_settings(lake)
    create_topics(settings.kafka_bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1, settings)
    producer = fast_producer(settings.kafka_bootstrap, settings)
    stop = stopper()
    sync = SalesforceSync(client, producer, Storage(lake_settings.root), org, currency=currency, since=since,
                          salt=lake_settings.salt, say=lambda line: click.echo(line, err=True), stopped=stop.is_set)
    while True:
        try:
            counts = sync.run_once()
        except SalesforceError as exc:
            raise click.ClickException(str(exc)) from exc
        except requests.RequestException as exc:  # what was acknowledged is behind the cursors: restart from there
            raise click.ClickException(f"cannot reach {instance_url}: {exc}") from exc
        click.echo(f"salesforce:{org}: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()),
                   err=True)
        if not follow or stop.is_set() or stop.wait(every):
            return


sync_command.add_command(sync_hubspot)
