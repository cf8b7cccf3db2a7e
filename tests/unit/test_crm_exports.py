"""CRM exports with the header sets the tools write (tests/data/crm): each imports as docs/crm/exports.md documents."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schemas import crm
from schemas.touch import TouchEvent
from streams.services.crm_import import read_rows

CRM = Path(__file__).parents[1] / "data" / "crm"
NEW_YORK = ZoneInfo("America/New_York")


def results(system, name, currency=None, zone=None):
    export = crm.Export(f"{system}:test", currency, zone)
    rows = read_rows(CRM / name)
    found = crm.salesforce_rows(rows, export) if system == "salesforce" else crm.hubspot_rows(rows, export)
    return [result for _, result in found]


def touches(system, name, currency=None, zone=None):
    found = results(system, name, currency, zone)
    assert all(isinstance(t, TouchEvent | crm.Skipped) for t in found), found
    return [t for t in found if isinstance(t, TouchEvent)]


def summary(found):
    return [(t.event_id, t.event_type, t.account_id, t.amount, t.currency, t.occurred_at.date().isoformat(),
             t.occurred_at_precision) for t in found]


def test_salesforce_opportunity_with_api_names_creates_and_closes_each_deal():
    assert summary(touches("salesforce", "salesforce_opportunity_api.csv")) == [
        ("0065e00000A1001:created", "opportunity_created", "0015e00000B2001", 48000.0, "EUR", "2026-02-10", "instant"),
        ("0065e00000A1001:closed", "closed_won", "0015e00000B2001", 48000.0, "EUR", "2026-03-20", "day"),
        ("0065e00000A1002:created", "opportunity_created", "0015e00000B2002", 12000.0, "EUR", "2026-02-12", "instant"),
        ("0065e00000A1002:closed", "closed_lost", "0015e00000B2002", 12000.0, "EUR", "2026-03-25", "day"),
        ("0065e00000A1003:created", "opportunity_created", "0015e00000B2001", 50000.0, "EUR", "2027-02-01", "instant"),
        ("0065e00000A1003:closed", "renewal", "0015e00000B2001", 50000.0, "EUR", "2027-03-18", "day"),
        ("0065e00000A1004:created", "opportunity_created", "0015e00000B2003", 30000.0, "GBP", "2026-04-02", "instant"),
    ]


def test_data_loader_upper_case_headers_need_the_orgs_currency():
    refused = results("salesforce", "salesforce_opportunity_dataloader.csv")
    assert all(isinstance(r, list) and r[0].field == "currency" for r in refused)
    found = touches("salesforce", "salesforce_opportunity_dataloader.csv", currency="CHF")
    assert [(t.event_type, t.amount, t.currency, t.channel) for t in found] == [
        ("opportunity_created", 91000.0, "CHF", "partner"), ("closed_won", 91000.0, "CHF", "partner"),
        ("opportunity_created", 40000.0, "CHF", "paid_search")]


def test_report_exports_with_field_labels_and_us_dates():
    found = touches("salesforce", "salesforce_opportunity_report.csv")
    assert [(t.event_id, t.event_type, t.amount, t.occurred_at.date().isoformat()) for t in found] == [
        ("0065e00000E1001:created", "opportunity_created", 250000.0, "2026-01-20"),
        ("0065e00000E1001:closed", "upsell", 250000.0, "2026-04-15"),
        ("0065e00000E1002:created", "opportunity_created", 18500.0, "2026-02-03"),
        ("0065e00000E1002:closed", "closed_lost", 18500.0, "2026-05-02")]
    assert {t.occurred_at_precision for t in found} == {"day"}


def test_classic_logged_calls_are_calls_and_other_tasks_are_skipped():
    found = results("salesforce", "salesforce_tasks_classic.csv")
    assert [(t.event_id, t.event_type, t.team) if isinstance(t, TouchEvent) else t.reason for t in found] == [
        ("00T5e00000G1001", "call", "sdr"), ("00T5e00000G1002", "call", "sales"), ("00T5e00000G1003", "call", "sdr"),
        ("00T5e00000G1004", "email_sent", "sdr"), "task subtype 'task' is no touch"]


def test_an_all_day_event_is_dated_not_timed():
    demo, workshop = touches("salesforce", "salesforce_events.csv")
    assert (demo.event_type, demo.occurred_at, demo.occurred_at_precision) == (
        "demo", datetime(2026, 2, 12, 16, tzinfo=UTC), "instant")
    assert (workshop.event_type, workshop.occurred_at, workshop.occurred_at_precision) == (
        "meeting", datetime(2026, 2, 19, tzinfo=UTC), "day")


def test_a_contacts_report_links_crm_ids_to_e_mails():
    found = touches("salesforce", "salesforce_contacts_report.csv")
    assert [(t.event_type, t.crm_contact_id, t.email, t.account_id) for t in found] == [
        ("identify", "0035e00000H2001", "ann@acme.example", "0015e00000B2001"),
        ("identify", "0035e00000H2002", "bo@globex.example", "0015e00000B2002")]


def test_hubspot_v3_calls_with_their_associations():
    found = touches("hubspot", "hubspot_calls_v3.json")
    assert [(t.event_id, t.event_type, t.crm_contact_id, t.account_id, t.occurred_at) for t in found] == [
        ("40101", "call", "201", "701", datetime(2026, 3, 2, 15, tzinfo=UTC)),
        ("40102", "call", "202", None, datetime(2026, 3, 9, 10, 30, tzinfo=UTC))]


def test_hubspot_ui_exports_read_local_times_in_the_portals_zone():
    refused = results("hubspot", "hubspot_deals_export.csv", currency="USD")
    assert all(isinstance(r, list) and "has no time zone" in r[0].problem for r in refused)
    found = touches("hubspot", "hubspot_deals_export.csv", currency="USD", zone=NEW_YORK)
    assert [(t.event_id, t.event_type, t.account_id, t.amount, t.occurred_at) for t in found] == [
        ("9001:created", "opportunity_created", "701", 36000.0, datetime(2026, 2, 20, 14, 5, tzinfo=UTC)),
        ("9001:closed_won", "closed_won", "701", 36000.0, datetime(2026, 4, 10, 21, 20, tzinfo=UTC)),
        ("9002:created", "opportunity_created", "701", 8000.0, datetime(2026, 5, 4, 17, 40, tzinfo=UTC))]


def test_hubspot_contacts_and_companies_link_ids_to_e_mails_and_domains():
    contacts = touches("hubspot", "hubspot_contacts_export.csv", zone=NEW_YORK)
    assert [(t.event_id, t.event_type, t.crm_contact_id, t.email, t.account_id, t.role) for t in contacts] == [
        ("contact:201", "identify", "201", "dana@soylent.example", "701", "Director of Research"),
        ("contact:202", "identify", "202", "fox@gmail.com", None, "Analyst")]
    (company,) = touches("hubspot", "hubspot_companies_export.csv", zone=NEW_YORK)
    assert (company.event_id, company.event_type, company.account_id, company.account_domain) == (
        "company:701", "group", "701", "soylent.example")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-10-10 18:00", datetime(2026, 10, 10, 22, tzinfo=UTC)),
    ("10/10/2026 6:00 PM", datetime(2026, 10, 10, 22, tzinfo=UTC)),
    ("10/10/2026, 06:00 am", datetime(2026, 10, 10, 10, tzinfo=UTC)),
    ("2026-10-10T18:00:00.000+0000", datetime(2026, 10, 10, 18, tzinfo=UTC)),
])
def test_crm_times_in_the_forms_the_tools_write(text, expected):
    assert crm.crm_time(text, NEW_YORK)[0] == expected


def test_a_salesforce_leads_report_gives_each_verdict_status_with_its_reason():
    found = touches("salesforce", "salesforce_leads_report.csv", zone=NEW_YORK)
    verdicts = [(t.event_id, t.event_type, t.crm_contact_id, t.email, t.disposition_reason, t.occurred_at)
                for t in found if t.event_type != "identify"]
    assert verdicts == [
        ("lead:00Q5e000001A001:status:workingcontacted", "lead_accepted", "00Q5e000001A001", "cy@initech.example",
         None, datetime(2026, 1, 21, 14, 30, tzinfo=UTC)),
        ("lead:00Q5e000001A002:status:closednotconverted", "lead_rejected", "00Q5e000001A002", "di@hooli.example",
         "no_budget", datetime(2026, 1, 23, 21, 15, tzinfo=UTC)),
        ("lead:00Q5e000001A004:status:nurture", "lead_recycled", "00Q5e000001A004", "flo@stark.example",
         "timing", datetime(2026, 2, 2, 16, tzinfo=UTC))]
    assert sum(t.event_type == "identify" for t in found) == 4  # every lead still links its id to its e-mail


def test_lead_history_dates_each_status_change_and_matches_the_leads_reports_ids():
    found = touches("salesforce", "salesforce_lead_history_dataloader.csv")
    assert [(t.event_id, t.event_type, t.crm_contact_id, t.occurred_at) for t in found] == [
        ("lead:00Q5e000001A002:status:workingcontacted", "lead_accepted", "00Q5e000001A002",
         datetime(2026, 1, 22, 18, tzinfo=UTC)),
        ("lead:00Q5e000001A002:status:closednotconverted", "lead_rejected", "00Q5e000001A002",
         datetime(2026, 1, 23, 21, 15, tzinfo=UTC)),
        ("lead:00Q5e000001A005:status:disqualified", "lead_disqualified", "00Q5e000001A005",
         datetime(2026, 2, 3, 10, tzinfo=UTC))]


def test_hubspot_lead_status_gives_verdicts_and_open_statuses_none():
    found = touches("hubspot", "hubspot_contacts_lead_status.csv", zone=NEW_YORK)
    verdicts = [(t.event_type, t.crm_contact_id, t.email, t.disposition_reason, t.stage_raw)
                for t in found if t.event_type != "identify"]
    assert verdicts == [
        ("lead_accepted", "301", "gil@soylent.example", None, "In Progress"),
        ("lead_disqualified", "302", "hal@soylent.example", None, "Unqualified"),
        ("lead_recycled", "303", "ida@soylent.example", "timing", "Bad Timing")]
