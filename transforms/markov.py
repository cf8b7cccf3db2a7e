"""First-order Markov chain attribution by removal effect, solved exactly.

States are ``start``, one per channel, and the absorbing ``conversion`` and ``null``. The
probability of conversion from ``start`` is the absorption probability of the chain,
``B = (I - Q)^-1 R``, solved as a linear system (no simulation). Removing a channel sends
every visit to it to ``null``; its removal effect is ``1 - P(conversion without it) / P``.
Credits are normalised as ChannelAttribution does: each channel gets its share of the sum
of removal effects times the total conversions (and the total value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from transforms.paths import ChannelPath, Credit


@dataclass(frozen=True, slots=True)
class MarkovResult:
    """The chain's conversion probability, each channel's removal effect, and the credits."""

    conversion_probability: float
    removal_effects: dict[str, float]
    credits: list[Credit]


def _transitions(paths: Sequence[ChannelPath], channels: list[str]) -> np.ndarray:
    """Transition counts over [start, *channels, conversion, null]."""
    index = {channel: i + 1 for i, channel in enumerate(channels)}
    size = len(channels) + 3
    conversion, null = size - 2, size - 1
    counts = np.zeros((size, size))
    for path in paths:
        weight = path.conversions + path.nulls
        if not path.channels or not weight:
            continue
        states = [0] + [index[c] for c in path.channels]
        for a, b in pairwise(states):
            counts[a, b] += weight
        counts[states[-1], conversion] += path.conversions
        counts[states[-1], null] += path.nulls
    return counts


def _conversion_probability(counts: np.ndarray, removed: int | None = None) -> float:
    size = counts.shape[0]
    conversion, null = size - 2, size - 1
    counts = counts.copy()
    if removed is not None:
        counts[:, null] += counts[:, removed]  # every visit to the removed channel ends in null
        counts[:, removed] = 0
    totals = counts.sum(axis=1, keepdims=True)
    probabilities = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    transient = list(range(conversion))
    q = probabilities[np.ix_(transient, transient)]
    r = probabilities[transient, conversion]
    absorbed = np.linalg.solve(np.eye(len(transient)) - q, r)
    return float(absorbed[0])


def markov(paths: Sequence[ChannelPath]) -> MarkovResult:
    """Exact first-order removal effects and ChannelAttribution-style normalised credits."""
    channels = sorted({c for path in paths for c in path.channels})
    counts = _transitions(paths, channels)
    # Channels never followed by anything still need a way out for the solve: none exist,
    # since every path ends in conversion or null.
    probability = _conversion_probability(counts)
    effects = {}
    for i, channel in enumerate(channels, start=1):
        without = _conversion_probability(counts, removed=i)
        effects[channel] = 1 - without / probability if probability else 0.0
    total_effect = sum(effects.values())
    total_conversions = sum(p.conversions for p in paths)
    total_value = sum(p.value for p in paths)
    credits = [
        Credit(channel, total_conversions * effect / total_effect, total_value * effect / total_effect)
        if total_effect else Credit(channel, 0.0, 0.0)
        for channel, effect in effects.items()
    ]
    return MarkovResult(probability, effects, credits)
