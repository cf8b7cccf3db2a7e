"""The core's value types: a touch as the fold sees it, and what the fold emits.

Hot-path records (:class:`Touch`, :class:`Cursor`, :class:`JourneyTouch`) are ``NamedTuple``s: as immutable
as a frozen dataclass and several times cheaper to build, which matters at 10^6 touches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol

from schemas.vocabulary import DISPOSITION_EVENTS, EventType, Stage

#: Where an event sorts among events with the same timestamp: the buying process's own order
#: (a ``custom:`` type, like every one-way touch, ranks 0: read it with :func:`event_rank`).
EVENT_RANK: Mapping[str, int] = {
    **{str(e): 0 for e in EventType},
    EventType.LEAD_ACCEPTED: 1,  # sales' verdict follows the lead it judges
    EventType.LEAD_RECYCLED: 1,
    EventType.LEAD_REJECTED: 1,
    EventType.LEAD_DISQUALIFIED: 1,
    EventType.OPPORTUNITY_CREATED: 2,
    EventType.OPPORTUNITY_STAGE_CHANGED: 3,
    EventType.CLOSED_LOST: 4,
    EventType.CLOSED_WON: 4,
    EventType.RENEWAL: 5,
    EventType.UPSELL: 5,
    EventType.CHURN: 6,
}

#: The fields of touch/1 that the core reads; everything else travels in ``Touch.extra``.
CORE_FIELDS = (
    "event_id", "source", "event_type", "occurred_at", "account_id", "anonymous_id", "user_id",
    "email", "crm_contact_id", "account_domain", "channel", "campaign_id", "team",
    "opportunity_id", "amount", "currency", "role",
)

OrderKey = tuple[datetime, int, str, str]


def event_rank(event_type: str) -> int:
    """The rank of an event type among events of the same instant (:data:`EVENT_RANK`)."""
    return EVENT_RANK.get(event_type, 0)
NO_EXTRA: Mapping[str, Any] = {}  # shared, never mutated: a Mapping to the type checker


class Touch(NamedTuple):
    """A validated touch. ``account_id`` is what the event said, not yet the resolved account."""

    event_id: str
    source: str
    event_type: str
    occurred_at: datetime
    account_id: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    email: str | None = None
    crm_contact_id: str | None = None
    account_domain: str | None = None
    channel: str | None = None
    campaign_id: str | None = None
    team: str | None = None
    opportunity_id: str | None = None
    amount: float | None = None
    currency: str | None = None
    role: str | None = None
    extra: Mapping[str, Any] = NO_EXTRA

    @property
    def key(self) -> tuple[str, str]:
        """The dedupe key: the same event from the same source is the same touch."""
        return (self.source, self.event_id)

    @property
    def order(self) -> OrderKey:
        """Total order of touches: event time, then the buying process's order, then ids."""
        return (self.occurred_at, event_rank(self.event_type), self.source, self.event_id)

    @classmethod
    def from_wire(cls, record: Mapping[str, Any]) -> Touch:
        """Build from a canonical touch/1 JSON object (already validated)."""
        core: dict[str, Any] = {name: record.get(name) for name in CORE_FIELDS}
        occurred = core["occurred_at"]
        core["occurred_at"] = (
            occurred if isinstance(occurred, datetime) else datetime.fromisoformat(str(occurred))
        )
        extra = {k: v for k, v in record.items() if k not in core}
        return cls(**core, extra=extra)

    def to_wire(self) -> dict[str, Any]:
        """The canonical touch/1 JSON object (``None`` fields left out)."""
        record: dict[str, Any] = dict(zip(CORE_FIELDS, self, strict=False))  # the fields but extra
        record["occurred_at"] = iso(self.occurred_at)
        record.update(self.extra)
        return {k: v for k, v in record.items() if v is not None}


assert Touch._fields[:len(CORE_FIELDS)] == CORE_FIELDS  # Touch.to_wire zips them


class ValidatedTouch(Protocol):
    """A validated touch/1 event (``schemas.touch.TouchEvent``): its fields, and its canonical JSON object."""

    def to_wire(self) -> dict[str, Any]:
        """The canonical touch/1 JSON object."""


def to_touch(event: ValidatedTouch) -> Touch:
    """The core's view of a validated touch."""
    values = vars(event)
    # Enum members as their plain values: cheaper to compare, hash and pickle in the core.
    core = {name: value._value_ if isinstance(value := values[name], Enum) else value for name in CORE_FIELDS}
    extra = {name: value for name, value in event.to_wire().items() if name not in core}
    return Touch(**core, extra=extra)


def iso(moment: datetime) -> str:
    """RFC 3339 text of a UTC time, with the zone written ``Z`` as touch/1 does."""
    return moment.isoformat().replace("+00:00", "Z")


def journey_id_of(account_id: str) -> str:
    """One journey per account, forever: its id is derived from the account id."""
    return "jrn_" + hashlib.blake2b(account_id.encode(), digest_size=8).hexdigest()


class LeadOrigin(NamedTuple):
    """What a marketing lead's touch said: what a breach alert's rule filters on and its CRM task attaches to."""

    channel: str | None = None
    campaign_id: str | None = None
    team: str | None = None
    crm_contact_id: str | None = None


class Cursor(NamedTuple):
    """The fold's state after a touch."""

    stage: Stage | None = None  # None before the first touch
    cycle: int = 0
    seq: int = 0
    last_at: datetime | None = None
    has_lead: bool = False  # this cycle already has its lead touch
    cycle_ended: bool = False  # the last touch ended its cycle (closed_lost, churn)
    lead_event_id: str | None = None  # a marketing lead still waiting for sales/SDR
    lead_at: datetime | None = None
    lead_origin: LeadOrigin | None = None  # that lead's touch


class JourneyTouch(NamedTuple):
    """One touch placed on its account's journey."""

    touch: Touch
    account_id: str
    journey_id: str
    cycle: int
    seq: int
    stage: Stage
    stage_before: Stage | None
    is_first_touch: bool
    is_lead_touch: bool
    is_opportunity_touch: bool
    is_close_touch: bool
    is_reengagement: bool
    lead_response_hours: float | None  # on the touch that answered a marketing lead

    @property
    def is_transition(self) -> bool:
        """Whether this touch moved the account to another stage."""
        return self.stage is not self.stage_before

    @property
    def is_milestone(self) -> bool:
        """Whether live consumers hear of this touch: a stage change, a lead, a re-engagement or sales' verdict."""
        return (self.stage is not self.stage_before or self.is_lead_touch or self.is_reengagement
                or self.touch.event_type in DISPOSITION_EVENTS)

    def to_row(self) -> dict[str, Any]:
        """A flat record: the journey fields, then the touch's own fields."""
        touch = self.touch
        return {
            # ids
            "event_id": touch.event_id,
            "source": touch.source,
            "account_id": self.account_id,
            "journey_id": self.journey_id,
            # journey
            "cycle": self.cycle,
            "seq": self.seq,
            "stage": str(self.stage),
            "stage_before": str(self.stage_before) if self.stage_before else None,
            "is_first_touch": self.is_first_touch,
            "is_lead_touch": self.is_lead_touch,
            "is_opportunity_touch": self.is_opportunity_touch,
            "is_close_touch": self.is_close_touch,
            "is_reengagement": self.is_reengagement,
            "lead_response_hours": self.lead_response_hours,
            "is_unresolved": False,
            # the touch
            **touch_columns(touch),
        }

    def transition_row(self) -> dict[str, Any]:
        """The stage change (or milestone, :attr:`is_milestone`) this touch made, as a ``journey-transitions-v1``
        record."""
        return {
            "event_id": self.touch.event_id,
            "source": self.touch.source,
            "account_id": self.account_id,
            "journey_id": self.journey_id,
            "cycle": self.cycle,
            "from_stage": str(self.stage_before) if self.stage_before else None,
            "to_stage": str(self.stage),
            "transitioned_at": iso(self.touch.occurred_at),
            "cause": self.touch.event_type,
            "is_reengagement": self.is_reengagement,
            # what alert rules filter on and CRM tasks attach to
            "is_lead_touch": self.is_lead_touch,
            "channel": self.touch.channel,
            "campaign_id": self.touch.campaign_id,
            "team": self.touch.team,
            "amount": self.touch.amount,
            "currency": self.touch.currency,
            "opportunity_id": self.touch.opportunity_id,
            "crm_contact_id": self.touch.crm_contact_id,
        }


def touch_columns(touch: Touch) -> dict[str, Any]:
    """The touch's own fields as output columns (the raw account id kept as ``touch_account_id``)."""
    return {
        "event_type": touch.event_type,
        "occurred_at": iso(touch.occurred_at),
        "touch_account_id": touch.account_id,
        "anonymous_id": touch.anonymous_id,
        "user_id": touch.user_id,
        "email": touch.email,
        "crm_contact_id": touch.crm_contact_id,
        "account_domain": touch.account_domain,
        "channel": touch.channel,
        "campaign_id": touch.campaign_id,
        "team": touch.team,
        "role": touch.role,
        "opportunity_id": touch.opportunity_id,
        "amount": touch.amount,
        "currency": touch.currency,
        **touch.extra,
    }


def unresolved_row(touch: Touch) -> dict[str, Any]:
    """A touch that no identifier ties to an account: kept, flagged, never guessed."""
    return {
        "event_id": touch.event_id,
        "source": touch.source,
        "account_id": None,
        "journey_id": None,
        "is_unresolved": True,
        **touch_columns(touch),
    }
