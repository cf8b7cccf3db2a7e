"""Analysis settings: the journey rules' and attribution's knobs. Passed in, never read from the environment."""

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


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """How conversions are credited (the SQL marts restate these defaults for sessions that set nothing)."""

    lookback_days: int = 365  # touches older than this before a conversion earn no credit
    half_life_days: float = 7.0  # time decay: a touch this much older earns half the credit


DEFAULT_ATTRIBUTION = AttributionSettings()
