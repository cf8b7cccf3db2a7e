"""Shapley-value attribution over channels, exact for any number of channels.

The coalition value of a set of channels S is the conversions (and value) of the paths whose
set of channels lies within S: ``v(S) = sum of c_T for T ⊆ S``. That game is a sum of
unanimity games, one per distinct channel set T weighted by its conversions, and the Shapley
value of a unanimity game gives each member 1/|T|. So each converting path's conversions
and value are split equally among its *distinct* channels: exact, and linear in the paths,
instead of the 2^n coalitions of a brute-force evaluation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from transforms.paths import ChannelPath, Credit


def shapley(paths: Iterable[ChannelPath]) -> list[Credit]:
    """Each channel's Shapley value in conversions and in value."""
    shares: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for path in paths:
        members = set(path.channels)
        if not members or not path.conversions:
            continue
        for channel in members:
            shares[channel][0] += path.conversions / len(members)
            shares[channel][1] += path.value / len(members)
    return sorted((Credit(c, v[0], v[1]) for c, v in shares.items()), key=lambda credit: credit.channel)
