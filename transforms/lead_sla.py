"""The lead SLA, one rule for every path: which marketing leads waited past the SLA for an answer.

A marketing lead is answered by the first sales or SDR touch, or sales' disposition of it, in its
cycle (:func:`transforms.stitching.step` keeps the open lead in the :class:`Cursor`). A lead is in
breach when its answer came after ``lead_at + lead_sla``, or when it has none and the accounts'
clock (:class:`~transforms.event_clock.AccountClock`) has passed that deadline. A breach row is
defined by the data alone (the lead, its deadline, its answer or none), so the streaming stage,
``touchline stitch``, ``backfill`` and ``replay`` write the same rows: the batch runners judge
every lead once at the end (:func:`judge_all`); the stream judges an account's leads
whenever its journey or the clock moves (:func:`review`) and upserts, or retracts, the rows that
changed, so that it ends where the batch does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from transforms.settings import JourneySettings
from transforms.types import Cursor, LeadOrigin, Touch, iso, journey_id_of

Step = tuple[Touch, Cursor]  # a touch and the journey's state after it


class Lead(NamedTuple):
    """A marketing lead and its answer (None while it has none)."""

    event_id: str
    at: datetime
    answered_at: datetime | None = None
    answer_event_id: str | None = None
    origin: LeadOrigin | None = None  # what the lead's touch said


class Breach(NamedTuple):
    """An ``sla_breaches`` row: a lead that waited past the SLA; its record also carries what the lead's touch
    said (channel, campaign, team, CRM contact: what alert rules filter on), which the table leaves out."""

    lead_event_id: str
    account_id: str
    journey_id: str
    lead_at: datetime
    due_at: datetime
    lead_sla_hours: float
    answered_at: datetime | None
    answer_event_id: str | None
    origin: LeadOrigin | None = None

    def columns(self) -> dict[str, Any]:
        """The table row (``detected_at`` is the deadline: when, on event time, the lead was in breach)."""
        answered = self.answered_at
        return {
            "lead_event_id": self.lead_event_id, "account_id": self.account_id, "journey_id": self.journey_id,
            "lead_at": self.lead_at, "due_at": self.due_at, "detected_at": self.due_at,
            "lead_sla_hours": self.lead_sla_hours, "answered_at": answered, "answer_event_id": self.answer_event_id,
            "response_hours": (answered - self.lead_at).total_seconds() / 3600 if answered else None,
        }

    def to_row(self) -> dict[str, Any]:
        """The wire record: :meth:`columns` with times as RFC 3339 text, and the lead's touch (origin_fields)."""
        row = {name: iso(value) if isinstance(value, datetime) else value for name, value in self.columns().items()}
        return {**row, **origin_fields(self.origin)}


def origin_fields(origin: LeadOrigin | None) -> dict[str, str | None]:
    """A breach record's fields from the lead's touch: ``channel``, ``campaign_id``, ``team``, ``crm_contact_id``."""
    return (origin or LeadOrigin())._asdict()


def leads(start: Cursor, steps: Iterable[Step]) -> Iterator[Lead]:
    """The marketing leads open at ``start`` or opened by ``steps``, each with its answer if a step gave it."""
    before = start
    for touch, after in steps:
        if before.lead_event_id is not None and after.lead_event_id != before.lead_event_id:
            answered = after.cycle == before.cycle  # a new cycle drops a lead unanswered
            yield Lead(before.lead_event_id, before.lead_at,  # type: ignore[arg-type]
                       touch.occurred_at if answered else None, touch.event_id if answered else None,
                       before.lead_origin)
        before = after
    if before.lead_event_id is not None:
        yield Lead(before.lead_event_id, before.lead_at, origin=before.lead_origin)  # type: ignore[arg-type]


def judge(lead: Lead, account_id: str, journey_id: str, clock: datetime | None,
          settings: JourneySettings) -> Breach | None:
    """The lead's breach row, or None: answered in time, or unanswered with its deadline not yet passed."""
    due = lead.at + settings.lead_sla
    late = lead.answered_at > due if lead.answered_at is not None else clock is not None and clock > due
    if not late:
        return None
    return Breach(lead.event_id, account_id, journey_id, lead.at, due, settings.lead_sla_hours,
                  lead.answered_at, lead.answer_event_id, lead.origin)


def judge_all(account_leads: Iterable[Lead], account_id: str, clock: datetime | None,
              settings: JourneySettings) -> list[Breach]:
    """The batch rule: an account's breaches over its whole journey, judged on the final clock."""
    journey_id = journey_id_of(account_id)
    found = (judge(lead, account_id, journey_id, clock, settings) for lead in account_leads)
    return [breach for breach in found if breach is not None]


class Watched(NamedTuple):
    """A lead the stream watches: the breach row it last emitted for it (None: none, or retracted)."""

    lead_event_id: str
    lead_at: datetime
    emitted: Breach | None = None
    scheduled: bool = False  # its deadline is in the partition's queue


class Review(NamedTuple):
    """What the stream does after an account's journey or the clock moved."""

    watched: tuple[Watched, ...]  # the account's leads still able to change
    records: list[dict[str, Any]]  # sla-breaches-v1 records: breach rows, and retractions
    deadlines: list[tuple[datetime, str]]  # (due, lead event id) of newly watched unanswered leads


def review(account_id: str, journey_id: str, settled: Cursor, window: tuple[Step, ...],
           watched: tuple[Watched, ...], clock: datetime | None, settings: JourneySettings) -> Review:
    """The streaming rule: judge the leads the journey's window can still change, emit what changed.

    A lead open at the settled cursor or opened in the window is live. A watched lead that is no
    longer live either settled (its touch left the window: final, forgotten) or stopped being a
    lead (a late touch was placed before it): its row, if any, is retracted.
    """
    before = {w.lead_event_id: w for w in watched}
    now: list[Watched] = []
    records: list[dict[str, Any]] = []
    deadlines: list[tuple[datetime, str]] = []
    for lead in leads(settled, window):
        old = before.pop(lead.event_id, None)
        breach = judge(lead, account_id, journey_id, clock, settings)
        if breach != (old.emitted if old else None):
            records.append(breach.to_row() if breach else _retraction(account_id, old))  # type: ignore[arg-type]
        scheduled = old is not None and old.scheduled
        if not scheduled and lead.answered_at is None and breach is None:
            deadlines.append((lead.at + settings.lead_sla, lead.event_id))
            scheduled = True
        now.append(Watched(lead.event_id, lead.at, breach, scheduled))
    gone = [w for w in before.values() if w.emitted is not None]
    if gone:
        in_window = {touch.event_id for touch, _ in window}
        records += [_retraction(account_id, w) for w in gone if w.lead_event_id in in_window]
    return Review(tuple(now), records, deadlines)


def _retraction(account_id: str, watched: Watched) -> dict[str, Any]:
    # with the lead's touch, as the row it retracts had it: the alert rules that matched the breach match this
    origin = watched.emitted.origin if watched.emitted else None
    return {"lead_event_id": watched.lead_event_id, "account_id": account_id, "lead_at": iso(watched.lead_at),
            **origin_fields(origin), "retracted": True}
