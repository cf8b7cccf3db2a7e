"""The stage rules of the continuous-engagement journey, as one transition table.

``TRANSITIONS[(stage, event_type)]`` is the stage after the event; pairs not in the table
leave the stage as it is. One-way touches (visits, ad clicks, opens, downloads,
registrations) never move an account forward by themselves, so they appear nowhere. Sales'
verdicts on a lead: rejected or disqualified in Engage go back to Find (and end the cycle, see
:func:`ends_cycle`); accepted and recycled leave the stage as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.vocabulary import ENGAGED_EVENTS, LEAD_CLOSING, EventType, Stage

FIND, ENGAGE, CLOSE, GROW = Stage.FIND, Stage.ENGAGE, Stage.CLOSE, Stage.GROW
PROSPECT_STAGES = (FIND, ENGAGE, CLOSE)


def _table() -> dict[tuple[Stage, str], Stage]:
    table: dict[tuple[Stage, str], Stage] = {}
    for event in ENGAGED_EVENTS:
        table[(FIND, event)] = ENGAGE  # the lead (MQL) touch
    for stage in (FIND, ENGAGE):
        table[(stage, EventType.OPPORTUNITY_CREATED)] = CLOSE
        table[(stage, EventType.OPPORTUNITY_STAGE_CHANGED)] = CLOSE  # an opportunity we missed
        table[(stage, EventType.CLOSED_LOST)] = ENGAGE
    table[(CLOSE, EventType.CLOSED_LOST)] = ENGAGE  # nurture, not the end
    for stage in PROSPECT_STAGES:
        table[(stage, EventType.CLOSED_WON)] = GROW
        table[(stage, EventType.RENEWAL)] = GROW
        table[(stage, EventType.UPSELL)] = GROW
    for stage in (*PROSPECT_STAGES, GROW):
        table[(stage, EventType.CHURN)] = FIND
    for event in LEAD_CLOSING:
        table[(ENGAGE, event)] = FIND  # sales turned the lead down: a prospect again
    return table


#: (stage before, event type) -> stage after. Everything a customer does stays in Grow but churn.
TRANSITIONS: Mapping[tuple[Stage, str], Stage] = _table()

#: Events that end a buying cycle; the next touch opens a new one.
CYCLE_ENDING = frozenset({EventType.CLOSED_LOST, EventType.CHURN})


def ends_cycle(before: Stage, event_type: str, after: Stage) -> bool:
    """Whether ``event_type`` (moving ``before`` to ``after``) ends the buying cycle: a lost deal or churn
    (a customer's cycle never ends), or a lead turned down before any opportunity (rejected, disqualified)."""
    if event_type in CYCLE_ENDING:
        return after is not GROW
    return event_type in LEAD_CLOSING and before in (FIND, ENGAGE)


def next_stage(stage: Stage, event_type: str) -> Stage:
    """The stage after ``event_type`` happens to an account in ``stage``."""
    return TRANSITIONS.get((stage, event_type), stage)


def is_legal(before: Stage | None, event_type: str, after: Stage, *, restarted: bool) -> bool:
    """Whether the table explains ``before`` -> ``after`` (from Find after a first touch or restart)."""
    return after is next_stage(FIND if before is None or restarted else before, event_type)
