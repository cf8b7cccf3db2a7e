"""``touchline worker``: run the pipeline's stages until interrupted."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import click

from streams.commands.journey_options import journey_options
from streams.commands.lake_option import lake_option
from streams.settings import Settings
from transforms.settings import JourneySettings


@click.command(name="worker")
@click.option("--stages", help="Which stages this worker runs (comma-separated) [default: resolve,stitch,land, "
                                "and hubspot with TOUCHLINE_HUBSPOT_TOKEN].")
@lake_option
@click.option("--catalog", type=click.Path(dir_okay=False), help="DuckDB catalog (default TOUCHLINE_CATALOG).")
@journey_options
def worker_command(stages: str | None, lake: str | None, catalog: str | None, journey: JourneySettings) -> None:
    """Run the streaming pipeline (embedded broker unless TOUCHLINE_KAFKA_BOOTSTRAP is set)."""
    from streams.broker import open_broker
    from streams.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    overrides = {k: v for k, v in {"lake": lake, "catalog": catalog}.items() if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_broker(settings.kafka_bootstrap) as running:
        if not settings.kafka_bootstrap:
            click.echo(f"embedded broker on {running.bootstrap} (TOUCHLINE_KAFKA_BOOTSTRAP to share it)", err=True)
        worker = Worker(running.bootstrap, settings, journey, tuple(stages.split(",")) if stages else None).start()
        click.echo(f"worker running stages {','.join(worker.stages or ())}; lake {settings.lake}, "
                   f"catalog {settings.catalog}", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        worker.close()
