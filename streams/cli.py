"""The ``touchline`` command: one entry point whose subcommands wire the parts together."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

import click

from schemas import segment
from schemas.touch import FieldError, TouchEvent, decode_json_object, validate_touch
from streams.inputs import read_lines
from streams.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchline")
def main() -> None:
    """Touchline: B2B buyer journeys from touch events to attribution."""


def _segment_problems(payload: dict[str, object]) -> list[FieldError]:
    if "batch" not in payload:
        result = segment.convert(payload)
        return result if isinstance(result, list) else []
    messages = segment.batch_messages(payload)
    if isinstance(messages, FieldError):
        return [messages]
    problems = []
    for i, message in enumerate(messages):
        result = segment.convert(message)  # type: ignore[arg-type]
        if isinstance(result, list):
            problems += [FieldError(f"batch[{i}].{e.field}", e.problem) for e in result]
    return problems


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "kind", type=click.Choice(["touch", "segment"]), default="touch",
              show_default=True, help="touch/1 records, or Segment-spec calls and /v1/batch envelopes.")
def validate(files: tuple[str, ...], kind: str) -> None:
    """Check JSON Lines FILES ('-' for stdin): print `LINE: field: problem` per invalid record."""
    total = invalid = 0
    for line in read_lines(files):
        total += 1
        payload = decode_json_object(line.raw)
        if isinstance(payload, FieldError):
            problems = [payload]
        elif kind == "segment":
            problems = _segment_problems(payload)
        else:
            result = validate_touch(payload)
            problems = [] if isinstance(result, TouchEvent) else result
        if problems:
            invalid += 1
            where = f"{line.path}:{line.number}" if len(files) > 1 else str(line.number)
            click.echo(f"{where}: " + "; ".join(str(p) for p in problems))
    click.echo(f"{total} records, {invalid} invalid", err=True)
    sys.exit(1 if invalid else 0)


@main.command()
@click.option("--smoke", is_flag=True, help="Produce and consume through a consumer group, then exit.")
def broker(smoke: bool) -> None:
    """Run the broker Touchline uses (embedded unless TOUCHLINE_KAFKA_BOOTSTRAP is set)."""
    from streams.broker import open_broker
    from streams.kafka_clients import smoke_check

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


if __name__ == "__main__":
    main()
