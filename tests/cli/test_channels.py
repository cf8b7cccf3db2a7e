"""``touchline channels explain`` and TOUCHLINE_CHANNEL_RULES, through the command line and the converters."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from schemas import channels, crm, segment
from streams.cli import main

RULES = """channel,subchannel,utm_source,utm_medium,utm_campaign,referrer,landing_page,lead_source,campaign_type
linkedin_ads,sponsored_content,linkedin,cpc,,,,,
g2,reviews,,,,*g2.com,,,
community,,,,,,,slack community,
direct,,,,,,,,
"""


def test_explain_names_the_line_that_matched_and_why(tmp_path):
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES)
    result = CliRunner().invoke(main, ["channels", "explain", '{"referrer": "https://www.g2.com/products/x"}'],
                                env={"TOUCHLINE_CHANNEL_RULES": str(rules)})
    channels.use_channel_rules(None)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"g2 / reviews: {rules} line 3", "  referrer 'www.g2.com' matches '*g2.com'"]


def test_a_bad_rules_file_stops_every_command_with_its_line(tmp_path):
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES.replace("g2,reviews", "G 2,reviews"))
    result = CliRunner().invoke(main, ["channels", "list"], env={"TOUCHLINE_CHANNEL_RULES": str(rules)})
    channels.use_channel_rules(None)
    assert result.exit_code == 2
    assert f"{rules}:3: channel: 'G 2' is not a channel name" in result.output


def test_a_teams_own_channels_reach_segment_and_crm_touches(tmp_path):
    rules = tmp_path / "rules.csv"
    rules.write_text(RULES)
    previous = channels.use_channel_rules(rules)
    try:
        call = {"type": "page", "messageId": "m1", "anonymousId": "a1", "timestamp": "2026-03-01T09:00:00Z",
                "context": {"campaign": {"source": "LinkedIn", "medium": "CPC"},
                            "page": {"url": "https://acme.example/pricing"}}}
        touch = segment.convert(call, received_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
        assert (touch.channel, touch.subchannel) == ("linkedin_ads", "sponsored_content")
        # an OpportunityHistory export's row (Salesforce's object reference: OpportunityHistory's fields)
        deal = crm.salesforce_rows([{"Id": "008A", "OpportunityId": "006A", "Opportunity.AccountId": "001A",
                                     "StageName": "Prospecting", "Amount": "100", "CurrencyIsoCode": "EUR",
                                     "Opportunity.LeadSource": "Slack Community",
                                     "CreatedDate": "2026-03-02T10:00:00Z"}], crm.Export("salesforce:import"))
        [(_, opportunity)] = list(deal)
        assert opportunity.channel == "community" and opportunity.subchannel is None
    finally:
        channels.use_channel_rules(previous)
