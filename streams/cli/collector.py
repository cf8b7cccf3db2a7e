"""``touchline collector`` and ``touchline write-key``: HTTP ingest for web trackers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from streams.settings import Settings

if TYPE_CHECKING:  # the collector's modules (aiohttp, librdkafka) load when a command runs it
    from streams.collector.app import CollectorSettings


def collector_settings(settings: Settings) -> CollectorSettings:
    """The collector's settings as ``collector`` and ``up`` run it; a missing or bad entry is a usage error
    named before anything starts."""
    from streams.collector.app import CollectorSettings

    if not settings.write_keys and settings.hubspot_client_secret is None:
        raise click.UsageError("no write keys: create one with `touchline write-key SOURCE` and set "
                               "TOUCHLINE_WRITE_KEYS (or TOUCHLINE_HUBSPOT_CLIENT_SECRET for HubSpot webhooks alone)")
    try:
        return CollectorSettings.read(settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command(name="collector")
@click.option("--host", help="Address to bind (default TOUCHLINE_COLLECTOR_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default TOUCHLINE_COLLECTOR_PORT, 8088).")
def collector_command(host: str | None, port: int | None) -> None:
    """Serve Segment-compatible /v1/* endpoints that produce to touches-raw-v1."""
    from streams.collector.app import serve

    overrides = {k: v for k, v in {"collector_host": host, "collector_port": port}.items() if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    collector = collector_settings(settings)
    if not settings.kafka_bootstrap:
        raise click.UsageError("no TOUCHLINE_KAFKA_BOOTSTRAP: a collector on a broker of its own would accept events "
                               "that no worker reads. Run `touchline up` (broker, worker, collector and dashboard "
                               "together), or `touchline broker` and point the worker and the collector at it")
    click.echo(f"collector on http://{collector.host}:{collector.port} → {settings.kafka_bootstrap}", err=True)
    serve(settings.kafka_bootstrap, settings, collector)


@click.command(name="write-key")
@click.argument("source", default="segment:web")
def write_key_command(source: str) -> None:
    """Create a write key for SOURCE: prints the key (give it to the tracker) and its hashed entry."""
    from streams.collector.app import new_write_key

    key, entry = new_write_key(source)
    click.echo(f"write key (shown once): {key}")
    click.echo(f"add to TOUCHLINE_WRITE_KEYS (comma-separated): {entry}")
