from datetime import UTC, datetime

from schemas import crm
from schemas.touch import TouchEvent

SF = "salesforce:00D5e000000abcd"


def test_campaign_member_who_attended_a_webinar():
    row = {"Id": "00v1", "CampaignId": "7011", "ContactId": "0031", "Email": "ann@acme.com",
           "AccountId": "0011", "Status": "Attended", "HasResponded": "true",
           "Campaign.Type": "Webinar", "CreatedDate": "2026-02-01T10:00:00.000+0000",
           "FirstRespondedDate": "2026-02-03"}
    touch = crm.salesforce_campaign_member(row, SF)
    assert isinstance(touch, TouchEvent), touch
    assert (touch.event_type, touch.channel, touch.team, touch.campaign_id) == (
        "webinar_attended", "webinar", "marketing", "7011")
    assert touch.occurred_at == datetime(2026, 2, 3, tzinfo=UTC)
    assert touch.occurred_at_precision == "day"


def test_campaign_member_who_never_responded_is_skipped_with_a_reason():
    row = {"Id": "00v2", "CampaignId": "7011", "ContactId": "0031", "Status": "Sent",
           "HasResponded": "false", "Campaign.Type": "Email", "CreatedDate": "2026-02-01"}
    result = crm.salesforce_campaign_member(row, SF)
    assert isinstance(result, crm.Skipped) and "did not respond" in result.reason


def test_task_call_keeps_salesforce_offset_format_and_owner_team():
    row = {"Id": "00T1", "WhoId": "0031", "AccountId": "0011", "TaskSubtype": "Call",
           "ActivityDate": "2026-02-04", "CompletedDateTime": "2026-02-04T15:30:00.000+0100",
           "OwnerRole": "Account Executive"}
    touch = crm.salesforce_task(row, SF)
    assert isinstance(touch, TouchEvent), touch
    assert (touch.event_type, touch.team) == ("call", "sales")
    assert touch.occurred_at == datetime(2026, 2, 4, 14, 30, tzinfo=UTC)
    assert touch.occurred_at_precision == "instant"


def test_task_email_is_an_outbound_send_by_an_sdr():
    row = {"Id": "00T2", "WhoId": "0031", "AccountId": "0011", "TaskSubtype": "Email",
           "ActivityDate": "2026-02-04"}
    touch = crm.salesforce_task(row, SF)
    assert isinstance(touch, TouchEvent)
    assert (touch.event_type, touch.team, touch.channel) == ("email_sent", "sdr", "outbound")


def test_event_demo():
    row = {"Id": "00U1", "WhoId": "0031", "AccountId": "0011", "Subject": "Product demo",
           "Type": "Meeting", "StartDateTime": "2026-02-10T16:00:00Z"}
    touch = crm.salesforce_event(row, SF)
    assert isinstance(touch, TouchEvent) and (touch.event_type, touch.team) == ("demo", "sales")


def test_opportunity_history_creates_then_wins():
    rows = [
        {"Id": "008a", "OpportunityId": "006X", "AccountId": "0011", "StageName": "Prospecting",
         "Amount": "50000", "CreatedDate": "2026-02-11T09:00:00.000+0000", "CurrencyIsoCode": "EUR"},
        {"Id": "008b", "OpportunityId": "006X", "AccountId": "0011", "StageName": "Negotiation",
         "Amount": "48000", "CreatedDate": "2026-03-01T09:00:00.000+0000", "CurrencyIsoCode": "EUR"},
        {"Id": "008c", "OpportunityId": "006X", "AccountId": "0011", "StageName": "Closed Won",
         "Amount": "48000", "CreatedDate": "2026-03-20T09:00:00.000+0000", "CurrencyIsoCode": "EUR"},
    ]
    touches = list(reversed(list(crm.convert_salesforce(list(reversed(rows)), SF))))  # a result per row, in order
    assert [t.event_type for t in touches] == ["opportunity_created", "opportunity_stage_changed",
                                               "closed_won"]
    assert touches[-1].amount == 48000.0 and touches[-1].currency == "EUR"
    assert touches[-1].stage_raw == "Closed Won"


def test_renewal_opportunity_won_is_a_renewal():
    rows = [{"Id": "008d", "OpportunityId": "006R", "AccountId": "0011", "StageName": "Closed Won",
             "Type": "Renewal", "Amount": "52000", "CreatedDate": "2027-03-20T09:00:00Z"}]
    (touch,) = crm.convert_salesforce(rows, SF, "USD")
    assert isinstance(touch, TouchEvent) and touch.event_type == "renewal"


def test_a_deal_without_a_currency_is_invalid_unless_the_org_currency_is_given():
    rows = [{"Id": "008f", "OpportunityId": "006Y", "AccountId": "0011", "StageName": "Closed Won",
             "Amount": "9000", "CreatedDate": "2026-03-20T09:00:00Z"}]
    (problems,) = crm.convert_salesforce(rows, SF)
    assert isinstance(problems, list) and [p.field for p in problems] == ["currency"]
    (touch,) = crm.convert_salesforce(rows, SF, "GBP")
    assert isinstance(touch, TouchEvent) and touch.currency == "GBP"
    deal = {"Record ID": "9002", "Deal Stage": "closedwon", "Amount": "100", "Create Date": "2026-01-05",
            "Close Date": "2026-02-20", "Associated Company IDs": "501"}
    assert all(isinstance(found, list) and found[0].field == "currency" for found in crm.convert_hubspot([deal], "h"))
    assert {t.currency for t in crm.convert_hubspot([deal], "h", "EUR")} == {"EUR"}


def test_bad_amount_names_the_field():
    rows = [{"Id": "008e", "OpportunityId": "006Z", "AccountId": "0011", "StageName": "Closed Lost",
             "Amount": "a lot", "CreatedDate": "2026-03-20T09:00:00Z"}]
    (problems,) = crm.convert_salesforce(rows, SF)
    assert isinstance(problems, list) and problems[0].field == "amount"


def test_unrecognised_export_is_reported():
    (problems,) = crm.convert_salesforce([{"Name": "x"}], SF)
    assert isinstance(problems, list) and problems[0].field == "$"


def test_hubspot_engagement_from_the_v1_api():
    row = {"engagement": {"id": 29090716, "type": "CALL", "timestamp": 1772359200000},
           "associations": {"contactIds": [101], "companyIds": [501], "dealIds": []},
           "metadata": {"durationMilliseconds": 38000}}
    touch = crm.hubspot_engagement(row, "hubspot:62515")
    assert isinstance(touch, TouchEvent), touch
    assert (touch.event_id, touch.event_type, touch.account_id, touch.crm_contact_id, touch.team) == (
        "29090716", "call", "501", "101", "sdr")
    assert touch.occurred_at == datetime.fromtimestamp(1772359200, UTC)


def test_hubspot_note_is_skipped():
    row = {"engagement": {"id": 1, "type": "NOTE", "timestamp": 1772359200000}}
    assert isinstance(crm.hubspot_engagement(row, "hubspot:62515"), crm.Skipped)


def test_hubspot_deal_row_yields_creation_and_close():
    row = {"Record ID": "9001", "Deal Stage": "closedwon", "Amount": "12000",
           "Create Date": "2026-01-05", "Close Date": "2026-02-20", "Associated Company IDs": "501",
           "Deal Type": "newbusiness"}
    touches = list(crm.convert_hubspot([row], "hubspot:62515", "USD"))
    assert [t.event_type for t in touches] == ["opportunity_created", "closed_won"]
    assert [t.event_id for t in touches] == ["9001:created", "9001:closed_won"]
    assert all(t.occurred_at_precision == "day" for t in touches)
