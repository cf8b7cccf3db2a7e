"""``touchline worker``: run the pipeline's stages until interrupted."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import click

from streams.cli.journey_options import journey_options
from streams.cli.lake_option import lake_option
from streams.settings import Settings
from transforms.settings import JourneySettings


@click.command(name="worker")
@click.option("--stages", default=None,
              help="Which stages this worker runs (comma-separated; default resolve,stitch,land, alerts "
                   "when there are alert rules, hubspot with TOUCHLINE_HUBSPOT_TOKEN).")
@click.option("--alert-rules", type=click.Path(dir_okay=False, exists=True),
              help="TOML file of alert destinations and rules (default TOUCHLINE_ALERT_RULES).")
@lake_option
@click.option("--catalog", type=click.Path(dir_okay=False), help="DuckDB catalog (default TOUCHLINE_CATALOG).")
@journey_options
def worker_command(stages: str | None, alert_rules: str | None, lake: str | None, catalog: str | None,
                   journey: JourneySettings) -> None:
    """Run the streaming pipeline (embedded broker unless TOUCHLINE_KAFKA_BOOTSTRAP is set)."""
    from streams.runtime.broker import open_broker
    from streams.runtime.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    overrides = {k: v for k, v in {"lake": lake, "catalog": catalog, "alert_rules": alert_rules}.items() if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.alert_rules:  # a bad rules file is refused before anything starts
        from schemas.alert_rules import AlertRulesError, load_rules

        try:
            load_rules(settings.alert_rules)
        except AlertRulesError as error:
            raise click.ClickException(str(error)) from None
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
