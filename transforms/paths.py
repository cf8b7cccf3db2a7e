"""Aggregated conversion paths, the input of the data-driven models, and heuristics over them.

A path is the sequence of channels (or campaigns, teams, …) a journey took before it
converted or did not. This is also the exchange format of ChannelAttribution and peers:
``path;total_conversions;total_conversion_value;total_null`` with channels joined by ``' > '``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class ChannelPath:
    """One distinct path and how often it ended in a conversion or in nothing."""

    channels: tuple[str, ...]
    conversions: float
    value: float
    nulls: float


@dataclass(frozen=True, slots=True)
class Credit:
    """What a model gives one channel."""

    channel: str
    conversions: float
    value: float


def parse_paths(lines: Iterable[str]) -> list[ChannelPath]:
    """Read the ``path;total_conversions;total_conversion_value;total_null`` format (header optional;
    ``,`` also accepted as the field separator)."""
    paths = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split(";" if ";" in line else ",")
        if number == 1 and fields[0].strip().lower() == "path":
            continue
        if len(fields) != 4:
            raise ValueError(f"line {number}: expected path;conversions;value;null, got {line.strip()!r}")
        channels = tuple(c.strip() for c in fields[0].split(">") if c.strip())
        paths.append(ChannelPath(channels, float(fields[1]), float(fields[2]), float(fields[3])))
    return paths


def _credits(shares: Mapping[str, list[float]]) -> list[Credit]:
    return sorted((Credit(ch, c, v) for ch, (c, v) in shares.items()), key=lambda credit: credit.channel)


def heuristic(paths: Iterable[ChannelPath], model: str) -> list[Credit]:
    """first_touch, last_touch, linear or position_based (40/20/40) credit per channel."""
    shares: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for path in paths:
        n = len(path.channels)
        if not n or not path.conversions:
            continue
        if model == "first_touch":
            weights = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            weights = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            weights = [1.0 / n] * n
        elif model == "position_based":
            weights = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        else:
            raise ValueError(f"unknown heuristic model {model!r}")
        for channel, weight in zip(path.channels, weights, strict=True):
            shares[channel][0] += weight * path.conversions
            shares[channel][1] += weight * path.value
    return _credits(shares)
