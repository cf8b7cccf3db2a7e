"""How well a Markov chain of each order predicts paths it has not seen: held-out log-likelihood and AUC.

The paths are split by journey on a seeded draw (each conversion and each null of a path goes
to the held-out part with probability ``holdout``). A chain of order k is fitted on the rest
as a next-symbol model: after a history of up to k channels (a path starts from ``^``), the
next symbol is a channel, ``conversion`` or ``null``. Unseen histories need smoothing, or one
new transition would make the likelihood zero: each order's estimate is shrunk towards the
next lower order's, ``P_k(s | h) = (n(h, s) + a · P_{k-1}(s | h')) / (n(h) + a)`` with ``h'``
the history without its oldest symbol, down to symbol frequencies shrunk towards uniform
(``a`` = :data:`SMOOTHING`). A proper distribution at every order, so likelihoods compare.

The conversion score of a held-out path is ``P(conversion) / (P(conversion) + P(null))``
after its channels; the AUC is the probability that a converting journey scores above a
non-converting one (ties count half).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transforms.markov import ORDERS
from transforms.paths import ChannelPath

START, CONVERSION, NULL = "^", "(conversion)", "(null)"
SMOOTHING = 1.0  # the pseudo-count a lower order's estimate weighs in a higher one's
HOLDOUT = 0.3  # share of journeys held out


@dataclass(frozen=True, slots=True)
class OrderFit:
    """One order's fit on the training paths, scored on the held-out ones."""

    order: int
    log_likelihood: float  # natural log, summed over the held-out journeys
    per_journey: float  # the same, per held-out journey
    auc: float  # conversion AUC on the held-out journeys (nan: only one outcome held out)


def split_paths(paths: Sequence[ChannelPath], *, holdout: float = HOLDOUT,
                seed: int = 0) -> tuple[list[ChannelPath], list[ChannelPath]]:
    """Training and held-out paths: every journey (a conversion or a null) held out with probability ``holdout``."""
    rng = np.random.default_rng(seed)
    conversions = np.array([round(p.conversions) for p in paths], dtype=np.int64)
    nulls = np.array([round(p.nulls) for p in paths], dtype=np.int64)
    held_conversions = rng.binomial(conversions, holdout)
    held_nulls = rng.binomial(nulls, holdout)
    train, test = [], []
    for path, c, n, hc, hn in zip(paths, conversions, nulls, held_conversions, held_nulls, strict=True):
        per = path.value / c if c else 0.0
        if c - hc or n - hn:
            train.append(ChannelPath(path.channels, float(c - hc), per * (c - hc), float(n - hn)))
        if hc or hn:
            test.append(ChannelPath(path.channels, float(hc), per * hc, float(hn)))
    return train, test


class _Model:
    """Next-symbol counts of every history length up to ``order``, smoothed as the module says."""

    def __init__(self, paths: Sequence[ChannelPath], order: int, symbols: int) -> None:
        self.order = order
        self.symbols = symbols
        self.counts: dict[tuple[tuple[str, ...], str], float] = defaultdict(float)
        self.totals: dict[tuple[str, ...], float] = defaultdict(float)
        for path in paths:
            for history, symbol, weight in _steps(path, order):
                for length in range(len(history) + 1):
                    context = history[len(history) - length:]
                    self.counts[context, symbol] += weight
                    self.totals[context] += weight

    def probability(self, history: tuple[str, ...], symbol: str) -> float:
        p = 1.0 / self.symbols
        for length in range(len(history) + 1):
            context = history[len(history) - length:]
            p = (self.counts.get((context, symbol), 0.0) + SMOOTHING * p) / (self.totals.get(context, 0.0) + SMOOTHING)
        return p


def _steps(path: ChannelPath, order: int) -> list[tuple[tuple[str, ...], str, float]]:
    """(history, next symbol, weight) of each prediction along a path, its outcomes last."""
    symbols = (START, *path.channels)
    steps = [(symbols[max(0, i - order + 1): i + 1], symbols[i + 1], path.conversions + path.nulls)
             for i in range(len(symbols) - 1)]
    end = symbols[max(0, len(symbols) - order):]
    return [*steps, (end, CONVERSION, path.conversions), (end, NULL, path.nulls)]


def auc(scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """Weighted AUC: P(a positive scores above a negative), ties counted half (nan without both)."""
    if not positives.sum() or not negatives.sum():
        return math.nan
    order = np.argsort(scores, kind="stable")
    scores, positives, negatives = scores[order], positives[order], negatives[order]
    distinct, group = np.unique(scores, return_inverse=True)
    pos = np.bincount(group, weights=positives, minlength=len(distinct))
    neg = np.bincount(group, weights=negatives, minlength=len(distinct))
    below = np.cumsum(neg) - neg  # negatives scoring strictly lower
    return float((pos * (below + 0.5 * neg)).sum() / (positives.sum() * negatives.sum()))


def fit_orders(paths: Sequence[ChannelPath], orders: Sequence[int] = ORDERS, *, holdout: float = HOLDOUT,
               seed: int = 0) -> list[OrderFit]:
    """Each order's held-out log-likelihood and conversion AUC on one seeded split of ``paths``."""
    train, test = split_paths(paths, holdout=holdout, seed=seed)
    symbols = len({c for p in paths for c in p.channels}) + 2
    journeys = sum(p.conversions + p.nulls for p in test)
    fits = []
    for order in orders:
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
        model = _Model(train, order, symbols)
        total = 0.0
        scores = np.zeros(len(test))
        for i, path in enumerate(test):
            for history, symbol, weight in _steps(path, order):
                if weight:
                    total += weight * math.log(model.probability(history, symbol))
            end = (START, *path.channels)[-order:]
            converts, ends = model.probability(end, CONVERSION), model.probability(end, NULL)
            scores[i] = converts / (converts + ends)
        found = auc(scores, np.array([p.conversions for p in test]), np.array([p.nulls for p in test]))
        fits.append(OrderFit(order, total, total / journeys if journeys else math.nan, found))
    return fits


def best_order(fits: Sequence[OrderFit]) -> int:
    """The order with the highest held-out log-likelihood (the lower order on a tie)."""
    return max(fits, key=lambda fit: (fit.log_likelihood, -fit.order)).order
