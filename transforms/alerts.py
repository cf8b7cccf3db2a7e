"""Which alerts a record raises: the rules file's rules applied to ``sla-breaches-v1`` and
``journey-transitions-v1`` records.

An alert is one (rule, subject, destination, type): its id is derived from those alone, so the
same record read again (a redelivery, a restart, a re-stitch) raises the same alert, and a
receiver can de-duplicate on it. A breach that is later answered or retracted raises a
``resolved`` alert that *follows* the breach alert: the stage sends it only where the breach
alert was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from schemas.alert_rules import AlertRules, Rule
from schemas.vocabulary import DISPOSITION_EVENTS

#: The records alerts are raised from, by the topic they come on.
BREACH, TRANSITION = "breach", "transition"


@dataclass(frozen=True, slots=True)
class Alert:
    """One message for one destination."""

    alert_id: str  # the idempotency key: webhook-id, the CRM task's external id
    rule_id: str
    type: str  # the rule's ``on``, or ``resolved``
    destination: str
    subject: str  # the lead (a breach) or the touch (``source|event_id``) it is about
    account_id: str
    lead_event_id: str | None
    happened: Mapping[str, Any]  # the record that raised it
    summary: str  # one readable sentence
    link: str  # the account's dashboard page
    follows: str | None = None  # a follow-up: the alert it follows (sent only where that one was)
    reason: str | None = None  # a follow-up: why the breach resolved
    #: A follow-up of an answer: sent only where the breach alert went out while the lead still waited (a breach
    #: first seen answered was announced with its answer, so nothing is left to resolve).
    needs_open: bool = False

    def ids(self) -> dict[str, Any]:
        """The subject's ids, as every message carries them."""
        ids: dict[str, Any] = {"account_id": self.account_id}
        if self.lead_event_id is not None:
            ids["lead_event_id"] = self.lead_event_id
        else:
            ids["event_id"] = self.happened.get("event_id")
            ids["source"] = self.happened.get("source")
        return ids


def alert_id(rule_id: str, subject: str, destination: str, kind: str) -> str:
    """The stable id of (rule, subject, destination, type): never a clock or a counter."""
    digest = hashlib.blake2b("\x1f".join((rule_id, subject, destination, kind)).encode(), digest_size=16)
    return "msg_" + digest.hexdigest()


def account_link(dashboard_url: str, account_id: str) -> str:
    """The account's page on the dashboard."""
    return f"{dashboard_url.rstrip('/')}/accounts/{quote(account_id, safe='')}"


def _matches(rule: Rule, record: Mapping[str, Any]) -> bool:
    """The rule's filters: every one given must hold."""
    checks = ((rule.account_ids, "account_id"), (rule.channel, "channel"), (rule.team, "team"),
              (rule.campaign, "campaign_id"))
    for allowed, field in checks:
        if allowed is not None and record.get(field) not in allowed:
            return False
    if rule.min_amount is not None:
        amount = record.get("amount")
        if amount is None or float(amount) < rule.min_amount:
            return False
    return True


def _happens(rule: Rule, record: Mapping[str, Any]) -> bool:
    """Whether a transition record is what the rule is on."""
    if rule.on == "lead":
        return bool(record.get("is_lead_touch"))
    if rule.on == "stage_change":
        return record.get("from_stage") != record.get("to_stage") and record.get("to_stage") == rule.to_stage
    if rule.on == "re_engagement":
        return bool(record.get("is_reengagement"))
    if rule.on == "lead_verdict":
        return record.get("cause") in DISPOSITION_EVENTS
    return False


def _breach_summary(record: Mapping[str, Any]) -> str:
    lead, account = record["lead_event_id"], record["account_id"]
    if record.get("answered_at"):
        return (f"Lead {lead} of account {account} was answered after {float(record['response_hours']):.1f} h, "
                f"past the {record['lead_sla_hours']:g} h SLA (due {record['due_at']}).")
    return (f"Lead {lead} of account {account} has waited over {record['lead_sla_hours']:g} h without an answer "
            f"(lead at {record['lead_at']}, due {record['due_at']}).")


def _transition_summary(on: str, record: Mapping[str, Any]) -> str:
    account, cause, at = record["account_id"], record.get("cause"), record.get("transitioned_at")
    what = {"lead": "has a new marketing lead", "re_engagement": "re-engaged after going dormant",
            "lead_verdict": f"had its lead judged by sales ({cause})"}.get(
        on, f"moved from {record.get('from_stage')} to {record.get('to_stage')}")
    return f"Account {account} {what}: {cause} at {at}."


def breach_alerts(rules: AlertRules, record: Mapping[str, Any], dashboard_url: str) -> list[Alert]:
    """The alerts an ``sla-breaches-v1`` record raises: a breach alert per rule and destination, and a
    ``resolved`` follow-up when the breach was answered or retracted."""
    lead, account = str(record["lead_event_id"]), str(record["account_id"])
    link = account_link(dashboard_url, account)
    retracted = bool(record.get("retracted"))
    alerts: list[Alert] = []
    for rule in rules.rule:
        if rule.on != "sla_breach" or not _matches(rule, record):
            continue
        for destination in rule.to:
            breach_id = alert_id(rule.rule_id, lead, destination, "sla_breach")
            if not retracted:
                alerts.append(Alert(breach_id, rule.rule_id, "sla_breach", destination, lead, account, lead,
                                    dict(record), _breach_summary(record), link))
            if retracted or record.get("answered_at"):
                reason = ("retracted: a touch placed late shows the lead was answered in time" if retracted
                          else f"answered at {record['answered_at']} by {record.get('answer_event_id')}")
                alerts.append(Alert(alert_id(rule.rule_id, lead, destination, "resolved"), rule.rule_id, "resolved",
                                    destination, lead, account, lead, dict(record),
                                    f"Lead {lead} of account {account}: breach resolved ({reason}).", link,
                                    follows=breach_id, reason=reason, needs_open=not retracted))
    return alerts


def transition_alerts(rules: AlertRules, record: Mapping[str, Any], dashboard_url: str) -> list[Alert]:
    """The alerts a ``journey-transitions-v1`` record raises."""
    account = str(record["account_id"])
    subject = f"{record.get('source')}|{record.get('event_id')}"
    link = account_link(dashboard_url, account)
    return [Alert(alert_id(rule.rule_id, subject, destination, rule.on), rule.rule_id, rule.on, destination,
                  subject, account, None, dict(record), _transition_summary(rule.on, record), link)
            for rule in rules.rule
            if rule.on != "sla_breach" and _happens(rule, record) and _matches(rule, record)
            for destination in rule.to]


def alerts_of(kind: str, rules: AlertRules, record: Mapping[str, Any], dashboard_url: str) -> list[Alert]:
    """The alerts a record of ``kind`` (:data:`BREACH` or :data:`TRANSITION`) raises."""
    if kind == BREACH:
        return breach_alerts(rules, record, dashboard_url)
    return transition_alerts(rules, record, dashboard_url)


def ons(rules: AlertRules) -> Iterable[str]:
    """What the rules are on (the stage reads only the topics some rule needs)."""
    return {rule.on for rule in rules.rule}
