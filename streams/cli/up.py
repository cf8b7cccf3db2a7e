"""``touchline up``: the whole pipeline on one machine, in one command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import click

from streams.cli.collector import collector_settings
from streams.cli.journey_options import journey_options
from streams.cli.lake_option import lake_option
from streams.services.sync import followers
from streams.settings import Settings
from transforms.settings import JourneySettings

if TYPE_CHECKING:
    from streams.collector.app import CollectorSettings


@click.command(name="up")
@lake_option
@click.option("--catalog", type=click.Path(dir_okay=False), help="DuckDB catalog (default TOUCHLINE_CATALOG).")
@click.option("--collector-port", type=click.IntRange(1, 65535), help="Default TOUCHLINE_COLLECTOR_PORT, 8088.")
@click.option("--dashboard-port", type=click.IntRange(1, 65535), help="Default TOUCHLINE_DASHBOARD_PORT, 8050.")
@journey_options
def up_command(lake: str | None, catalog: str | None, collector_port: int | None, dashboard_port: int | None,
               journey: JourneySettings) -> None:
    """Run the broker (embedded unless TOUCHLINE_KAFKA_BOOTSTRAP is set), the worker, the collector and the
    dashboard together until interrupted: trackers send to the collector, the dashboard shows what lands. The CRM
    syncs that are configured follow too: `sync salesforce --follow` with TOUCHLINE_SALESFORCE_INSTANCE_URL and a
    token or client credentials, `sync hubspot --follow` with TOUCHLINE_HUBSPOT_TOKEN."""
    from streams.collector.app import new_write_key
    from streams.runtime.broker import open_broker
    from streams.runtime.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    overrides = {"lake": lake, "catalog": catalog, "collector_port": collector_port, "dashboard_port": dashboard_port}
    settings = Settings(**{k: v for k, v in overrides.items() if v})  # type: ignore[arg-type]
    if not settings.write_keys:  # a key for this run, so a tracker can send at once
        key, entry = new_write_key("segment:web")
        settings = settings.model_copy(update={"write_keys": entry})
        click.echo(f"write key for source segment:web (this run only; TOUCHLINE_WRITE_KEYS keeps one): {key}",
                   err=True)
    collector = collector_settings(settings)
    with open_broker(settings.kafka_bootstrap) as broker:
        worker = Worker(broker.bootstrap, settings, journey).start()
        syncs = [subprocess.Popen([sys.executable, "-m", "streams", *arguments],
                                  env={**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": broker.bootstrap})
                 for arguments in followers(settings)]
        try:
            asyncio.run(_serve(broker.bootstrap, settings, collector, journey))
        finally:
            for process in syncs:  # each stops between two pages: what it produced is behind its cursor
                process.terminate()
            for process in syncs:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
            worker.close()


async def _serve(bootstrap: str, settings: Settings, collector: CollectorSettings, journey: JourneySettings) -> None:
    """The collector and the dashboard on one event loop, until SIGINT or SIGTERM."""
    from aiohttp import web

    from dashboard.server import application
    from streams.collector.app import collector_application

    sites = [(collector_application(bootstrap, settings, collector), collector.host, collector.port),
             (application(settings.lake, dormancy_days=journey.dormancy_days, lead_sla_hours=journey.lead_sla_hours),
              settings.dashboard_host, settings.dashboard_port)]
    runners = []
    for app, host, port in sites:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        runners.append(runner)
    click.echo(f"collector on http://{collector.host}:{collector.port}/v1/batch → {bootstrap}; "
               f"dashboard on http://{settings.dashboard_host}:{settings.dashboard_port}/ over {settings.lake} "
               "(Ctrl-C to stop)", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
