"""``touchline broker``: run (or smoke-check) the Kafka-protocol broker Touchline uses."""

from __future__ import annotations

import contextlib
import signal
import threading

import click

from streams.settings import Settings


@click.command()
@click.option("--smoke", is_flag=True, help="Produce and consume through a consumer group, then exit.")
def broker(smoke: bool) -> None:
    """Run the broker (embedded on 127.0.0.1 unless TOUCHLINE_KAFKA_BOOTSTRAP is set)."""
    from streams.runtime.broker import open_broker
    from streams.runtime.kafka_python_clients import smoke_check

    with open_broker(Settings().kafka_bootstrap) as running:
        click.echo(f"broker listening on {running.bootstrap}", err=True)
        if smoke:
            figures = smoke_check(running.bootstrap)
            click.echo(f"smoke check passed: {figures['messages']:.0f} records produced and consumed "
                       f"through a consumer group in {figures['seconds']:.1f}s")
            return
        click.echo(f"TOUCHLINE_KAFKA_BOOTSTRAP={running.bootstrap}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
