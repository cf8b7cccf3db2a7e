"""Markov chain attribution of order 1 to 4 by removal effect, solved exactly.

A chain of order ``k`` has the states ``start``, one per k-tuple of consecutive channels
seen in the paths (shorter tuples at a path's beginning: after its first channel the state is
``(c1,)``, after its second ``(c1, c2)``, and so on up to ``k`` channels), and the absorbing
``conversion`` and ``null``. Order 1 is the classic chain whose states are the channels.

The probability of conversion from ``start`` is the absorption probability of the chain,
``B = (I - Q)^-1 R``, solved as a linear system (no simulation): dense for small chains,
sparse (SuperLU) for the many states of higher orders. Removing a channel sends every visit
to a state that holds it to ``null``: the solve runs on the states without it, while each
state keeps its transition probabilities of the whole chain. Its removal effect is
``1 - P(conversion without it) / P``. Credits are normalised as ChannelAttribution does:
each channel gets its share of the sum of removal effects times the total conversions (and
the total value).

:func:`compile_chain` does the path bookkeeping once; :func:`removal_effects` then solves
for any weights of the same paths, which is what the bootstrap of :mod:`transforms.bootstrap`
calls a few hundred times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, identity
from scipy.sparse.linalg import spsolve

from transforms.paths import ChannelPath, Credit

ORDERS = (1, 2, 3, 4)
#: Up to this many transient states the chain is solved densely.
DENSE_STATES = 600


@dataclass(frozen=True, slots=True)
class MarkovResult:
    """The chain's conversion probability, each channel's removal effect, and the credits."""

    conversion_probability: float
    removal_effects: dict[str, float]
    credits: list[Credit]


@dataclass(frozen=True, slots=True)
class Chain:
    """The states of an order-k chain over a set of paths, and where each path goes.

    Attributes:
        order: the chain's order k.
        channels: the channels, sorted.
        states: every transient state as its tuple of channels; index 0 is ``start`` (``()``).
        path_of: per transition of a path, the index of the path.
        edge_of: per transition of a path, its edge (a distinct pair of states).
        source: per edge, the state it leaves.
        target: per edge, the state it enters.
        last: per path, the state it ends in (-1 for a path with no channel).
        holds: a (channels × states) boolean matrix: does the state hold the channel.
    """

    order: int
    channels: tuple[str, ...]
    states: tuple[tuple[str, ...], ...]
    path_of: np.ndarray
    edge_of: np.ndarray
    source: np.ndarray
    target: np.ndarray
    last: np.ndarray
    holds: np.ndarray


def compile_chain(channel_paths: Sequence[tuple[str, ...]], order: int = 1) -> Chain:
    """The order-``order`` chain's states and transitions of these channel sequences."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    channels = tuple(sorted({c for path in channel_paths for c in path}))
    index: dict[tuple[str, ...], int] = {(): 0}
    path_of: list[int] = []
    source: list[int] = []
    target: list[int] = []
    last: list[int] = []
    for number, path in enumerate(channel_paths):
        here = 0
        for step in range(len(path)):
            state = path[max(0, step - order + 1): step + 1]
            there = index.setdefault(state, len(index))
            path_of.append(number)
            source.append(here)
            target.append(there)
            here = there
        last.append(here if path else -1)
    states = tuple(index)
    keys = np.array(source, dtype=np.int64) * len(states) + np.array(target, dtype=np.int64)
    edges, edge_of = np.unique(keys, return_inverse=True)
    position = {channel: i for i, channel in enumerate(channels)}
    holds = np.zeros((len(channels), len(states)), dtype=bool)
    for state, i in index.items():
        for channel in state:
            holds[position[channel], i] = True
    return Chain(order, channels, states, np.array(path_of, dtype=np.int64), edge_of.astype(np.int64),
                 edges // len(states), edges % len(states), np.array(last, dtype=np.int64), holds)


def _absorbed(q: np.ndarray | csr_matrix, r: np.ndarray, keep: np.ndarray) -> float:
    """P(conversion) from start (state 0, always kept) over the kept states only."""
    kept = np.flatnonzero(keep)
    r_kept = r[kept]
    if isinstance(q, np.ndarray):
        sub = q[np.ix_(kept, kept)]
        return float(np.linalg.solve(np.eye(len(kept)) - sub, r_kept)[0])
    sub = q[kept][:, kept]
    solved = spsolve((identity(len(kept), format="csc") - sub).tocsc(), r_kept)
    return float(np.atleast_1d(solved)[0])


def removal_effects(chain: Chain, conversions: np.ndarray, nulls: np.ndarray) -> tuple[float, np.ndarray]:
    """P(conversion) and each channel's removal effect, for these per-path weights of the chain's paths.

    Args:
        chain: from :func:`compile_chain` over the same paths, in the same order.
        conversions: per path, its conversions.
        nulls: per path, how often it ended in nothing.

    Returns:
        The conversion probability from ``start`` and, per channel of ``chain.channels``, its
        removal effect (0 for every channel when nothing converts).
    """
    size = len(chain.states)
    weights = conversions + nulls
    ends = chain.last >= 0
    along = np.bincount(chain.edge_of, weights=weights[chain.path_of], minlength=len(chain.source))
    converted = np.bincount(chain.last[ends], weights=conversions[ends], minlength=size)
    totals = (np.bincount(chain.source, weights=along, minlength=size)
              + np.bincount(chain.last[ends], weights=weights[ends], minlength=size))
    scale = np.divide(1.0, totals, out=np.zeros(size), where=totals > 0)
    r = converted * scale
    q: np.ndarray | csr_matrix
    if size <= DENSE_STATES:
        q = np.zeros((size, size))
        q[chain.source, chain.target] = along * scale[chain.source]
    else:
        q = csr_matrix((along * scale[chain.source], (chain.source, chain.target)), shape=(size, size))
    everything = np.ones(size, dtype=bool)
    probability = _absorbed(q, r, everything)
    if not probability:
        return 0.0, np.zeros(len(chain.channels))
    effects = np.array([1 - _absorbed(q, r, ~chain.holds[i]) / probability for i in range(len(chain.channels))])
    return probability, effects


def markov(paths: Sequence[ChannelPath], order: int = 1) -> MarkovResult:
    """Exact order-``order`` removal effects and ChannelAttribution-style normalised credits."""
    chain = compile_chain([p.channels for p in paths], order)
    conversions = np.array([p.conversions for p in paths], dtype=float)
    nulls = np.array([p.nulls for p in paths], dtype=float)
    probability, effect = removal_effects(chain, conversions, nulls)
    effects = {channel: float(e) for channel, e in zip(chain.channels, effect, strict=True)}
    total_effect = sum(effects.values())
    total_conversions = sum(p.conversions for p in paths)
    total_value = sum(p.value for p in paths)
    credits = [
        Credit(channel, total_conversions * effect / total_effect, total_value * effect / total_effect)
        if total_effect else Credit(channel, 0.0, 0.0)
        for channel, effect in effects.items()
    ]
    return MarkovResult(probability, effects, credits)
