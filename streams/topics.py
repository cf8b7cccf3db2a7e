"""The topics of the pipeline: names are a public contract (see ARCHITECTURE.md)."""

from __future__ import annotations

TOUCHES_RAW = "touches-raw-v1"  # what producers send; one partition (identity is resolved in one place)
TOUCHES_DLQ = "touches-dlq-v1"  # rejected records, with the reason and the original bytes
TOUCHES_VALID = "touches-valid-v1"  # validated, deduplicated touches (a replaced copy withdrawn): the lake's archive
IDENTITY_MERGES = "identity-merges-v1"  # two identities became one
TOUCHES_BY_ACCOUNT = "touches-by-account-v1"  # resolved touches, keyed by account
JOURNEY_TOUCHES = "journey-touches-v1"  # journey rows, upserted by (source, event_id); a replaced copy's withdrawn
JOURNEY_TRANSITIONS = "journey-transitions-v1"  # stage changes and milestones (leads, verdicts), for live consumers
ALERTS = "alerts-v1"  # what each alert delivery came to (the alerts table)
SLA_BREACHES = "sla-breaches-v1"  # a marketing lead waited past the SLA
TOUCHES_LATE = "touches-late-v1"  # too late to place: fixed by `touchline replay`
CRM_WEBHOOKS_RAW = "crm-webhooks-raw-v1"  # CRM webhook events as received (thin: the hubspot stage reads the objects)

SINGLE_PARTITION = (TOUCHES_RAW, TOUCHES_VALID, TOUCHES_DLQ, IDENTITY_MERGES)
PARTITIONED = (TOUCHES_BY_ACCOUNT, JOURNEY_TOUCHES, JOURNEY_TRANSITIONS, SLA_BREACHES, TOUCHES_LATE,
               ALERTS, CRM_WEBHOOKS_RAW)
ALL = SINGLE_PARTITION + PARTITIONED
