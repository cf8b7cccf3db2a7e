"""The journey rules' options every command that stitches shares, handed to it as one ``JourneySettings``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from transforms.settings import JourneySettings

_DEFAULTS = JourneySettings()


def journey_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--dormancy-days``, ``--lead-sla-hours``, ``--allowed-lateness-hours``: the command gets ``journey``."""

    @functools.wraps(command)
    def with_journey(*args: Any, dormancy_days: int, lead_sla_hours: float, allowed_lateness_hours: float,
                     **kwargs: Any) -> Any:
        journey = JourneySettings(dormancy_days=dormancy_days, lead_sla_hours=lead_sla_hours,
                                  allowed_lateness_hours=allowed_lateness_hours)
        return command(*args, journey=journey, **kwargs)

    options = [
        click.option("--dormancy-days", default=_DEFAULTS.dormancy_days, show_default=True,
                     type=click.IntRange(min=1), help="Silence after which the next touch is a re-engagement."),
        click.option("--lead-sla-hours", default=_DEFAULTS.lead_sla_hours, show_default=True,
                     type=click.FloatRange(min=0, min_open=True),
                     help="How long a marketing lead may wait for sales or SDR."),
        click.option("--allowed-lateness-hours", default=_DEFAULTS.allowed_lateness_hours, show_default=True,
                     type=click.FloatRange(min=0),
                     help="Streaming: out-of-order touches within this are placed by event time."),
    ]
    decorated: Callable[..., Any] = with_journey
    for option in reversed(options):
        decorated = option(decorated)
    return decorated
