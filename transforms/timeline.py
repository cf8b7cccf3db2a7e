"""One account's journey as a timeline: the stage bands and silent gaps a drill-down draws.

Input is the account's journey touches in ``seq`` order (as the lake holds them); output is
plain spans, so any chart library can draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise


@dataclass(frozen=True, slots=True)
class TimelineTouch:
    """What the timeline needs of a journey touch."""

    occurred_at: datetime
    stage: str
    cycle: int
    is_reengagement: bool


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the journey: ``label`` from ``start`` to ``end``."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        """Its length in days."""
        return (self.end - self.start) / timedelta(days=1)


def stage_bands(touches: Sequence[TimelineTouch], until: datetime | None = None) -> list[Span]:
    """Consecutive runs of one stage within one cycle; the last band runs to ``until`` (or its last touch)."""
    bands: list[Span] = []
    start = 0
    for index in range(1, len(touches) + 1):
        ended = index == len(touches)
        if ended or (touches[index].stage, touches[index].cycle) != (touches[start].stage, touches[start].cycle):
            end = (until or touches[-1].occurred_at) if ended else touches[index].occurred_at
            bands.append(Span(touches[start].stage, touches[start].occurred_at, max(end, touches[start].occurred_at)))
            start = index
    return bands


def dormant_gaps(touches: Sequence[TimelineTouch], dormancy: timedelta) -> list[Span]:
    """Silences of at least ``dormancy`` between consecutive touches."""
    return [Span("dormant", before.occurred_at, after.occurred_at)
            for before, after in pairwise(touches)
            if after.occurred_at - before.occurred_at >= dormancy]


def reengagements(touches: Sequence[TimelineTouch]) -> list[datetime]:
    """When the account came back after a dormant gap."""
    return [t.occurred_at for t in touches if t.is_reengagement]
