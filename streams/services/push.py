"""One round of ``touchline push``: the lake's credit to the CRM, what changed since the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sinks.attribution import open_lake
from sinks.crm_push import opportunity_credits, read_ledger, write_ledger
from streams.settings import Settings
from transforms.crm_push import hubspot_properties, hubspot_property_names, salesforce_records

if TYPE_CHECKING:
    from sinks.lake import Lake
    from streams.crm.crm_push import Api, Pushed


def push_once(crm: str, models: list[str], store: Lake, settings: Settings, api: Api) -> Pushed:
    """One round: read the lake's credit, send the CRM what changed since the ledger, record what it acknowledged."""
    from streams.crm.crm_push import push_hubspot, push_salesforce

    connection = open_lake(store.root)
    try:
        credits = opportunity_credits(connection, models, crm)
    finally:
        connection.close()
    ledger = read_ledger(store.storage, crm)
    try:
        if crm == "salesforce":
            assert settings.salesforce_instance_url is not None
            return push_salesforce(api, settings.salesforce_instance_url, settings.salesforce_api_version,
                                   salesforce_records(credits), ledger)
        return push_hubspot(api, settings.hubspot_api_url, hubspot_properties(credits, models),
                            hubspot_property_names(models), ledger)
    finally:
        write_ledger(store.storage, crm, ledger)  # what was acknowledged, even when a later call failed
