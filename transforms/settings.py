"""Analysis settings: the journey rules' knobs. Passed in, never read from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class JourneySettings:
    """How touches become journeys."""

    dormancy_days: int = 90  # no touch for this long: the next touch is a re-engagement
    allowed_lateness_hours: float = 7 * 24  # older out-of-order touches take the late path
    lead_sla_hours: float = 24.0  # a marketing lead waits at most this long for sales/SDR
    pending_per_visitor: int = 1000  # unresolved touches held per visitor awaiting identity

    @property
    def dormancy(self) -> timedelta:
        """``dormancy_days`` as a duration."""
        return timedelta(days=self.dormancy_days)

    @property
    def allowed_lateness(self) -> timedelta:
        """``allowed_lateness_hours`` as a duration."""
        return timedelta(hours=self.allowed_lateness_hours)

    @property
    def lead_sla(self) -> timedelta:
        """``lead_sla_hours`` as a duration."""
        return timedelta(hours=self.lead_sla_hours)


DEFAULT_JOURNEY = JourneySettings()
