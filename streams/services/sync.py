"""The CRM syncs: which ones ``touchline up`` follows with, and the order HubSpot's objects sync in."""

from __future__ import annotations

from streams.settings import Settings

#: Companies first: the accounts the others name; then who, the deals, and the engagements.
OBJECTS = ("companies", "contacts", "deals", "calls", "meetings", "emails")


def followers(settings: Settings) -> list[list[str]]:
    """The ``touchline sync ... --follow`` commands ``up`` starts: those whose CRM is configured."""
    lake = ["--lake", str(settings.lake)]
    commands = []
    if settings.salesforce_instance_url and (settings.salesforce_access_token or (
            settings.salesforce_client_id and settings.salesforce_client_secret)):
        commands.append(["sync", "salesforce", "--follow", "--instance-url", settings.salesforce_instance_url, *lake])
    if settings.hubspot_token:
        commands.append(["sync", "hubspot", "--follow", *lake])
    return commands
