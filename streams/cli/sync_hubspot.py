"""``touchline sync hubspot``: deals, contacts, companies, calls, meetings and e-mails through the CRM v3 search
API."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from streams.cli.lake_option import lake_option
from streams.services.sync import OBJECTS
from streams.settings import Settings


def _since(_: object, __: object, value: str | None) -> int:
    if not value:
        return 0
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO date-time") from exc
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


@click.command(name="hubspot")
@click.option("--follow", is_flag=True, help="Keep syncing, every --every seconds, until interrupted.")
@click.option("--every", type=click.FloatRange(1), default=60.0, show_default=True, metavar="SECONDS",
              help="With --follow: the pause between syncs.")
@click.option("--since", "since_ms", metavar="DATE", callback=_since,
              help="Where a type with no cursor yet starts (default: its first record); later syncs resume "
                   "from their cursors.")
@lake_option
def sync_hubspot(follow: bool, every: float, since_ms: int, lake: str | None) -> None:
    """Produce the touches of HubSpot deals, contacts, companies, calls, meetings and e-mails changed since the
    last sync.

    Needs TOUCHLINE_HUBSPOT_TOKEN (a private app's token) and TOUCHLINE_KAFKA_BOOTSTRAP. Each type's
    cursor moves only after its touches are acknowledged: a sync stopped at any point and started
    again loses nothing, and what it reads twice the pipeline counts once. SIGTERM or Ctrl-C stops it
    between two pages.
    """
    from streams import topics
    from streams.cli.stopping import stopper
    from streams.crm.hubspot_api import HubspotApi
    from streams.crm.hubspot_objects import HubspotObjects
    from streams.crm.hubspot_sync import Cursors, HubspotSync
    from streams.runtime.kafka_python_clients import create_topics
    from streams.runtime.librdkafka_clients import fast_producer, produce_waiting

    settings = Settings(**({"lake": lake} if lake else {}))  # type: ignore[arg-type]
    if settings.hubspot_token is None:
        raise click.UsageError("set TOUCHLINE_HUBSPOT_TOKEN (a HubSpot private app's access token)")
    if not settings.kafka_bootstrap:
        raise click.UsageError("set TOUCHLINE_KAFKA_BOOTSTRAP (the broker the worker reads)")
    api = HubspotApi(settings.hubspot_api_url, settings.hubspot_token.get_secret_value())
    portal = api.account_details()["portalId"]
    create_topics(settings.kafka_bootstrap, [topics.TOUCHES_RAW, topics.TOUCHES_DLQ], 1, settings)
    producer = fast_producer(settings.kafka_bootstrap, settings)

    def flush() -> None:
        if producer.flush(60) > 0:
            raise click.ClickException("the broker did not acknowledge the touches within 60 s; the cursor stays")

    stop = stopper()
    sync = HubspotSync(HubspotObjects(api, settings.crm_currency), Cursors(settings.lake, portal), portal,
                       lambda topic, key, value: produce_waiting(producer, topic, value, key), flush,
                       settings.lake_settings().salt, stopped=stop.is_set)
    try:
        while True:
            for object_path in OBJECTS:
                sync.sync(object_path, since_ms)
            click.echo(f"hubspot:{portal}: {sync.counts['records']:,} records read, {sync.counts['touches']:,} "
                       f"touches, {sync.counts['dead_letters']:,} dead letters", err=True)
            if not follow or stop.is_set() or stop.wait(every):
                break
    finally:
        producer.flush(10)
