"""How far a model's channel credit lies from the truth: share errors and rank agreement.

Credits and truths are compared as **shares** over the channels the truth names: a model's
credit to a channel divided by its credit to all of them, against the channel's true
incremental conversions (or amount, in one currency) divided by the sum of them. Credit to
anything else (``unknown``, ``(unattributed)``) is left out: the baseline converts without
any channel, and no model should be blamed for not crediting it to one. The total absolute
error is the sum over channels of ``|model share - true share|`` (0: right, 2: disjoint);
rank agreement is Spearman's correlation of the two shares (ties share their rank).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr


@dataclass(frozen=True, slots=True)
class ChannelError:
    """One channel's share under the model, under the truth, and the difference."""

    channel: str
    true_share: float
    model_share: float

    @property
    def error(self) -> float:
        """Model share minus true share (positive: over-credited)."""
        return self.model_share - self.true_share


@dataclass(frozen=True, slots=True)
class Score:
    """One model's error on one conversion type and basis (conversions, or an amount in one currency)."""

    model: str
    conversion: str
    basis: str  # conversions, revenue or pipeline
    currency: str | None
    total_absolute_error: float
    spearman: float  # nan when either side gives every channel the same share
    channels: tuple[ChannelError, ...]

    @property
    def worst(self) -> ChannelError:
        """The channel the model gets most wrong."""
        return max(self.channels, key=lambda c: (abs(c.error), c.channel))


def shares(values: Mapping[str, float], channels: Sequence[str]) -> np.ndarray:
    """``values`` of ``channels`` (0 where missing) as shares of their sum (all 0 when the sum is 0)."""
    found = np.array([max(float(values.get(c, 0.0)), 0.0) for c in channels])
    total = found.sum()
    return found / total if total else found


def score(model: str, conversion: str, basis: str, currency: str | None, credits: Mapping[str, float],
          truth: Mapping[str, float]) -> Score:
    """The error of ``credits`` (per channel) against the true increments ``truth`` (per channel).

    Args:
        model: the model's name, carried into the score.
        conversion: the conversion type, carried.
        basis: what is shared out: conversions, revenue or pipeline.
        currency: the currency of an amount basis (None for conversions).
        credits: the model's credit per channel (other keys are ignored).
        truth: the true increment per channel; its keys are the channels scored.
    """
    channels = sorted(truth)
    ours, true = shares(credits, channels), shares(truth, channels)
    if len(channels) > 1 and np.ptp(ours) > 0 and np.ptp(true) > 0:
        rho = float(spearmanr(ours, true).statistic)
    else:
        rho = math.nan
    errors = tuple(ChannelError(c, float(t), float(o)) for c, t, o in zip(channels, true, ours, strict=True))
    return Score(model, conversion, basis, currency, float(np.abs(ours - true).sum()), rho, errors)


def ranked(scores: Iterable[Score]) -> list[Score]:
    """Scores grouped by conversion type, basis and currency, the smallest error first in each group."""
    return sorted(scores, key=lambda s: (s.conversion, s.basis, s.currency or "", s.total_absolute_error, s.model))
