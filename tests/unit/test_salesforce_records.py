"""Salesforce REST records read as their exports are (schemas/salesforce_records.py)."""

from schemas.crm import Export, salesforce_kind, salesforce_rows
from schemas.salesforce_records import OBJECTS_BY_NAME, convert_records, flatten, selected_fields

EXPORT = Export("salesforce:00D000000000001AAA", "USD")


def test_flatten_names_relationship_fields_as_data_loader_does():
    # REST API Developer Guide, "Execute a SOQL Query": relationship fields come nested, with attributes
    record = {"attributes": {"type": "CampaignMember", "url": "/services/data/v60.0/sobjects/CampaignMember/x"},
              "Id": "00v000000000001", "HasResponded": True, "Campaign": {"attributes": {"type": "Campaign"},
                                                                           "Type": "Webinar"},
              "Contact": None, "NumberOfEmployees": 120}
    assert flatten(record) == {"Id": "00v000000000001", "HasResponded": "true", "Campaign.Type": "Webinar",
                               "Contact": None, "NumberOfEmployees": "120"}


def test_selected_fields_leave_out_what_the_org_lacks():
    opportunity = OBJECTS_BY_NAME["Opportunity"]
    available = {"Id", "AccountId", "StageName", "Amount", "CloseDate", "IsClosed", "IsWon", "CreatedDate"}
    assert "CurrencyIsoCode" not in selected_fields(opportunity, available)  # a single-currency org
    member = OBJECTS_BY_NAME["CampaignMember"]
    assert "Campaign.Type" in selected_fields(member, {"Id", "CampaignId"})
    assert "Contact.AccountId" not in selected_fields(member, {"Id", "CampaignId"})


def kinds(results):
    return [getattr(r, "event_type", None) or r.reason for _, r in results]


def test_a_history_page_without_the_first_version_changes_stages_rather_than_creating():
    history = OBJECTS_BY_NAME["OpportunityHistory"]
    later = [{"Id": "008000000000003", "OpportunityId": "006000000000001", "StageName": "Negotiation",
              "Amount": 48000.0, "CreatedDate": "2026-01-10T09:00:00.000+0000",
              "Opportunity": {"AccountId": "001000000000001"}}]
    told = kinds(convert_records(history, later, EXPORT, {"006000000000001": "2026-01-02T09:00:00.000+0000"}))
    assert told == ["opportunity_stage_changed"]
    assert kinds(salesforce_rows([flatten(r) for r in later], EXPORT, "opportunity_history")) == [
        "opportunity_created"]  # as an export of that row alone says
    # a first version (the same instant, written another way) is the deal's creation: the Opportunity object's
    first = kinds(convert_records(history, later, EXPORT, {"006000000000001": "2026-01-10T09:00:00Z"}))
    assert first == ["opportunity_created comes from the Opportunity object (<Id>:created, <Id>:closed)"]


def test_an_opportunity_contact_role_export_is_told_and_ties_the_contact_to_the_account():
    row = {"ID": "00K000000000001", "OPPORTUNITYID": "006000000000001", "CONTACTID": "003000000000001",
           "ROLE": "Economic Buyer", "CREATEDDATE": "2026-01-05T09:00:00.000+0000",
           "OPPORTUNITY.ACCOUNTID": "001000000000001"}
    assert salesforce_kind(row) == "contact_role"
    ((_, touch),) = salesforce_rows([row], EXPORT)
    assert (touch.event_id, touch.event_type, touch.crm_contact_id, touch.account_id, touch.role) == (
        "contact-role:00K000000000001", "identify", "003000000000001", "001000000000001", "Economic Buyer")


def test_an_opportunity_history_export_and_the_sync_key_a_deals_touches_alike():
    # REST records as "Execute a SOQL Query" answers them; Data Loader exports the same fields flat
    opportunity = {"Id": "006000000000007", "AccountId": "001000000000001", "StageName": "Closed Won",
                   "Amount": 9000.0, "CreatedDate": "2026-01-02T09:00:00.000+0000", "CloseDate": "2026-01-20",
                   "IsClosed": True, "IsWon": True, "Type": "New Business"}
    versions = [("008000000000071", "Prospecting", "2026-01-02T09:00:00.000+0000"),
                ("008000000000072", "Negotiation", "2026-01-10T09:00:00.000+0000"),
                ("008000000000073", "Closed Won", "2026-01-20T09:00:00.000+0000"),
                ("008000000000074", "Closed Won", "2026-01-22T09:00:00.000+0000")]  # the amount edited after
    history = [{"Id": id_, "OpportunityId": "006000000000007", "StageName": stage, "Amount": 9000.0,
                "CreatedDate": at, "Opportunity": {"AccountId": "001000000000001", "Type": "New Business"}}
               for id_, stage, at in versions]

    def keys(results):
        return {(r.event_id, r.event_type) for _, r in results if hasattr(r, "event_id")}

    exported = keys(salesforce_rows([flatten(r) for r in history], EXPORT, "opportunity_history"))
    synced = keys(convert_records(OBJECTS_BY_NAME["Opportunity"], [opportunity], EXPORT)) | keys(
        convert_records(OBJECTS_BY_NAME["OpportunityHistory"], history, EXPORT))
    assert exported == synced == {("006000000000007:created", "opportunity_created"),
                                  ("008000000000072", "opportunity_stage_changed"),
                                  ("006000000000007:closed", "closed_won")}
