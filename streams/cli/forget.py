"""``touchline forget``: erase a person from the lake and keep them out (right to erasure)."""

from __future__ import annotations

import getpass
import json

import click

from streams.cli.lake_option import chosen_lake, lake_option
from streams.settings import Settings
from transforms.privacy import LEGACY_PSEUDONYM_PREFIX, pseudonymize_email


@click.command(name="forget")
@click.option("--email")
@click.option("--user-id")
@click.option("--anonymous-id")
@click.option("--crm-contact-id")
@lake_option
@click.option("--requested-by", default=getpass.getuser, show_default="the current user",
              help="Who asked, for the audit record.")
def forget_command(email: str | None, user_id: str | None, anonymous_id: str | None, crm_contact_id: str | None,
                   lake: str | None, requested_by: str) -> None:
    """Erase one person (and every identifier linked to them) from the lake; suppress their future events.

    Their touches stay (journeys and revenue are the account's), emptied of every identifier and
    free-form field; identity merges and dead letters that mention them are emptied too. Each
    table's rows are rewritten in one commit, then every file of any version that still holds
    them is deleted; an audit record (with the versions written) goes to LAKE/_privacy/audit.jsonl.
    """
    from sinks.privacy import SuppressionKeyError, forget

    given = {k: v for k, v in {"email": email, "user_id": user_id, "anonymous_id": anonymous_id,
                               "crm_contact_id": crm_contact_id}.items() if v}
    if len(given) != 1:
        raise click.UsageError("give exactly one of --email, --user-id, --anonymous-id, --crm-contact-id")
    (kind, value), = given.items()
    landing = Settings().lake_settings(lake)
    store = chosen_lake(landing.root)
    also: list[str] = []
    if kind == "email" and landing.salt:  # the lake only holds the pseudonym (in lakes written before 2026-12, h.…)
        value, also = (pseudonymize_email(value, landing.salt),
                       [pseudonymize_email(value, landing.salt, prefix=LEGACY_PSEUDONYM_PREFIX)])
    try:
        record = forget(store, kind, value, key=landing.suppression_key, requested_by=requested_by, also=also)
    except SuppressionKeyError as error:
        raise click.UsageError(str(error)) from None
    click.echo(json.dumps(record, indent=2))
