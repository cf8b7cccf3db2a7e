"""What ``touchline push`` reads from the lake: the opportunities' credits, and the ledger of the last push.

The ledger (``_state/push/<crm>.json`` in the lake) maps each record key the CRM holds to the
fingerprint of what was sent (and, for Salesforce, the record id the CRM gave it), so a push
sends only what changed and deletes what disappeared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import duckdb

from sinks.storage import Storage
from transforms.crm_push import Credit


def opportunity_credits(connection: duckdb.DuckDBPyConnection, models: Iterable[str], crm: str) -> list[Credit]:
    """Every touch's credit for the opportunity and closed_won conversions of ``crm``'s deals.

    A deal is ``crm``'s when its conversion came from that CRM (source ``salesforce:<org>`` or
    ``hubspot:<portal>``): a Salesforce opportunity id means nothing to HubSpot, and the reverse.

    Args:
        connection: a session from :func:`sinks.attribution.open_lake`.
        models: the rule-based models to read.
        crm: ``salesforce`` or ``hubspot``.
    """
    rows = connection.execute("""
        select conversions.opportunity_id, credits.conversion_type, credits.model, credits.source, credits.event_id,
               strftime(credits.occurred_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ'), credits.channel,
               credits.campaign_id, credits.content_id, credits.event_type, credits.stage,
               coalesce(touches.crm_contact_id, touches.email, touches.user_id, touches.anonymous_id),
               credits.credit, credits.revenue_credit, credits.pipeline_credit, credits.currency,
               coalesce(attributed.is_lead, false)
        from attribution_credits as credits
        join conversions on conversions.conversion_id = credits.conversion_id
        left join journey_touches as touches
            on touches.source = credits.source and touches.event_id = credits.event_id
        left join (select distinct conversion_id, source, event_id, is_lead from attribution_touches) as attributed
            on attributed.conversion_id = credits.conversion_id and attributed.source = credits.source
            and attributed.event_id = credits.event_id
        where conversions.opportunity_id is not null
          and credits.conversion_type in ('opportunity', 'closed_won')
          and list_contains(?, credits.model)
          -- conversion_id is <conversion_type>:<source>:<event_id>: the conversion's own source
          and starts_with(conversions.conversion_id, conversions.conversion_type || ':' || ? || ':')
        order by 1, 2, 3, 4, 5
    """, [list(models), crm]).fetchall()
    return [Credit(*row) for row in rows]


def read_ledger(storage: Storage, crm: str) -> dict[str, Any]:
    """What the last push to ``crm`` left there (empty before the first)."""
    raw = storage.read_bytes("_state", "push", f"{crm}.json")
    return json.loads(raw) if raw else {}


def write_ledger(storage: Storage, crm: str, ledger: dict[str, Any]) -> None:
    """Replace the ledger of ``crm`` whole."""
    storage.write_bytes(json.dumps(ledger, sort_keys=True).encode(), "_state", "push", f"{crm}.json")
