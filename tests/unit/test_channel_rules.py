"""The channel rules: the matcher on Marketo-Measure-style cases, and the shipped rules against the mapping
they replaced (kept below, frozen, as the reference)."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import pytest

from schemas import channels
from schemas.channel_rules import ChannelRules, ChannelRulesError, Origin, origin_of
from schemas.touch import TouchEvent, validate_touch

# --- the Python mapping of schemas/channels.py before the rules file (its last version, frozen) -------------
_SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
_SOCIAL_NETWORKS = ("linkedin", "facebook", "twitter", "x.com", "instagram", "reddit", "youtube", "tiktok")
_MEDIUMS = {
    "cpc": "paid_search", "ppc": "paid_search", "paid_search": "paid_search", "paidsearch": "paid_search",
    "sem": "paid_search", "paid_social": "paid_social", "paidsocial": "paid_social", "social_paid": "paid_social",
    "display": "paid_social", "email": "email", "e-mail": "email", "newsletter": "email", "webinar": "webinar",
    "event": "events", "events": "events", "tradeshow": "events", "organic": "organic_search",
    "organic_search": "organic_search", "referral": "referral", "social": "referral", "partner": "partner",
    "affiliate": "partner", "outbound": "outbound", "direct": "direct",
}
_CRM_SOURCES = {
    "web": "organic_search", "organic search": "organic_search", "organic_search": "organic_search",
    "seo": "organic_search", "paid search": "paid_search", "paid_search": "paid_search",
    "advertisement": "paid_search", "paid social": "paid_social", "paid_social": "paid_social",
    "social media": "paid_social", "email": "email", "direct mail": "email", "webinar": "webinar",
    "trade show": "events", "conference": "events", "event": "events", "events": "events",
    "seminar / conference": "events", "partner": "partner", "partner referral": "partner", "referral": "referral",
    "employee referral": "referral", "external referral": "referral", "word of mouth": "referral",
    "outbound": "outbound", "cold call": "outbound", "purchased list": "outbound", "phone inquiry": "direct",
    "direct": "direct", "other": "direct",
}


def legacy_utm(utm: dict[str, str], referrer: str | None = None) -> str:
    medium = utm.get("medium", "").strip().lower()
    source = utm.get("source", "").strip().lower()
    if medium in {"cpc", "ppc", "paid"} and any(net in source for net in _SOCIAL_NETWORKS):
        return "paid_social"
    if medium in _MEDIUMS:
        return _MEDIUMS[medium]
    if medium or source:
        return "referral"
    host = (urlsplit(referrer).hostname or "") if referrer else ""
    if not host:
        return "direct"
    if any(engine in host for engine in _SEARCH_ENGINES):
        return "organic_search"
    return "referral"


def legacy_crm(value: str | None) -> str | None:
    return _CRM_SOURCES.get(value.strip().lower()) if value else None


# --- the corpus ---------------------------------------------------------------------------------------------
MEDIUMS = [*_MEDIUMS, "paid", "CPC", " Email ", "PPC ", "cpc2", "social-paid", "banner", "", "  "]
SOURCES = ["google", "LinkedIn", "facebook.com", "t.co", "twitter", "x.com", "box.com", "reddit", "youtube-ads",
           "tiktok", "instagram", "newsletter-42", "", " ", "bing"]
REFERRERS = [None, "", "not a url", "https://www.google.com/search?q=x", "https://google.co.uk/", "http://bing.com",
             "https://duckduckgo.com/?q=a", "https://search.yahoo.com/", "https://www.baidu.com/s", "https://yandex.ru",
             "https://www.ecosia.org/search", "https://www.linkedin.com/feed/", "https://news.ycombinator.com/item?id=1",
             "https://example.com/google.html", "https://googleblog.example/", "https://WWW.GOOGLE.DE/",
             "android-app://com.google.android.gm", "//cdn.example.org/x"]
CRM_VALUES = [*_CRM_SOURCES, "Web", " Trade Show ", "PARTNER REFERRAL", "Seminar / Conference", "unknown", "",
              "  ", None, "webinars", "e-mail"]


def web_corpus():
    for medium, source in itertools.product(MEDIUMS, SOURCES):
        yield {"medium": medium, "source": source}, None
    yield from itertools.product([{}, {"medium": ""}, {"source": "google"}, {"medium": "cpc"}], REFERRERS)


@pytest.mark.parametrize(("utm", "referrer"), list(web_corpus()))
def test_the_shipped_rules_classify_web_touches_as_the_python_mapping_did(utm, referrer):
    assert channels.channel_from_utm(utm, referrer) == legacy_utm(utm, referrer)


@pytest.mark.parametrize("value", CRM_VALUES)
@pytest.mark.parametrize("column", ["lead_source", "campaign_type"])
def test_the_shipped_rules_classify_crm_values_as_the_python_mapping_did(value, column):
    assert channels.channel_from_crm(value, column) == legacy_crm(value)


def test_the_shipped_rules_declare_the_ten_channels_of_the_taxonomy():
    assert channels.DEFAULT_CHANNEL_RULES.channels == set(_MEDIUMS.values()) | set(_CRM_SOURCES.values())


# --- the matcher --------------------------------------------------------------------------------------------
HEADER = "channel,subchannel,utm_source,utm_medium,utm_campaign,referrer,landing_page,lead_source,campaign_type\n"


def rules(*lines: str) -> ChannelRules:
    return ChannelRules.parse(HEADER + "\n".join(lines) + "\n", "test.csv")


def web(rules_: ChannelRules, **kwargs: str):
    utm = {k.removeprefix("utm_"): v for k, v in kwargs.items() if k.startswith("utm_")}
    found = rules_.match(Origin.web(utm, kwargs.get("referrer"), kwargs.get("landing_page")))
    return (found.channel, found.subchannel, found.rule.line) if found else None


def test_the_first_matching_rule_wins_in_file_order():
    table = rules("paid_social,linkedin,linkedin,cpc,,,,,", "paid_search,,,cpc,,,,,", "linkedin_ads,,linkedin,,,,,,")
    assert web(table, utm_source="linkedin", utm_medium="cpc") == ("paid_social", "linkedin", 2)
    assert web(table, utm_source="google", utm_medium="cpc") == ("paid_search", None, 3)
    assert web(table, utm_source="linkedin", utm_medium="social") == ("linkedin_ads", None, 4)


def test_wildcards_at_either_end_and_both():
    table = rules("a,,google*,,,,,,", "b,,*ads,,,,,,", "c,,*book*,,,,,,")
    assert web(table, utm_source="googleads")[0] == "a"
    assert web(table, utm_source="bingads")[0] == "b"
    assert web(table, utm_source="facebook.com")[0] == "c"
    assert web(table, utm_source="gooogle") is None


def test_semicolons_are_any_of_and_case_and_spaces_are_ignored():
    table = rules("email,nurture,, Email ; NEWSLETTER ,Nurture*,,,,")
    assert web(table, utm_medium="newsletter", utm_campaign="nurture-q3") == ("email", "nurture", 2)
    assert web(table, utm_medium="EMAIL ", utm_campaign="NURTURE") == ("email", "nurture", 2)
    assert web(table, utm_medium="email", utm_campaign="launch") is None


def test_an_empty_cell_matches_anything_and_a_star_only_a_present_value():
    table = rules("a,,,*,,,,,", "b,,,,,,,,")
    assert web(table, utm_medium="whatever")[0] == "a"
    assert web(table, utm_source="only-a-source")[0] == "b"
    assert web(table)[0] == "b"


def test_a_referrer_without_a_path_matches_the_host_with_one_host_and_path():
    table = rules("hn,threads,,,,news.ycombinator.com/item*,,,", "search,,,,,*google.*,,,",
                  "docs,,,,,,*/docs/*,,", "referral,,,,,*,,,")
    assert web(table, referrer="https://news.ycombinator.com/item?id=1") == ("hn", "threads", 2)
    assert web(table, referrer="https://news.ycombinator.com/news") == ("referral", None, 5)
    assert web(table, referrer="https://example.com/google.html") == ("referral", None, 5)
    assert web(table, referrer="https://www.google.com/search") == ("search", None, 3)
    assert web(table, landing_page="https://acme.example/docs/start", referrer="https://x.example") \
        == ("docs", None, 4)


def test_crm_rules_meet_only_crm_values_and_web_rules_only_web_touches():
    table = rules("events,,,,,,,trade show,", "direct,,,,,,,,", "webinar,,,,,,,,webinar")
    assert table.match(Origin.crm("Trade Show")).channel == "events"
    assert table.match(Origin.crm(campaign_type="Webinar")).channel == "webinar"
    assert table.match(Origin.crm("Cold Call")) is None
    assert web(table)[0] == "direct"


@pytest.mark.parametrize(("text", "problem"), [
    ("channel,subchannel,utm_sauce\n", "test.csv:1: unknown column 'utm_sauce'"),
    ("subchannel,utm_source\nx,y\n", "test.csv:1: no channel column"),
    (HEADER + "email,,,email,,,,,\nPaid Social,,,social,,,,,\n", "test.csv:3: channel: 'Paid Social' is not"),
    (HEADER + "# a comment, then\n,,,cpc,,,,,\n", "test.csv:3: channel: '' is not"),
    (HEADER + "email,,,email,,,,,,,\n", "test.csv:2: 11 cells, the header has 9"),
    (HEADER, "test.csv: no rules"),
])
def test_a_bad_rules_file_is_refused_with_its_line(text, problem):
    with pytest.raises(ChannelRulesError) as error:
        ChannelRules.parse(text, "test.csv")
    assert str(error.value).startswith(problem)


def test_explain_reads_a_url_with_utms_or_a_json_object():
    table = channels.DEFAULT_CHANNEL_RULES
    found = table.match(origin_of("https://acme.example/pricing?utm_source=LinkedIn&utm_medium=cpc"))
    assert (found.channel, found.rule.line) == ("paid_social", 4)
    assert found.reasons == ("utm_source 'linkedin' matches '*linkedin*;*facebook*;*twitter*;*x.com*;*instagram*;"
                             "*reddit*;*youtube*;*tiktok*'", "utm_medium 'cpc' matches 'cpc;ppc;paid'")
    assert table.match(origin_of('{"referrer": "https://www.bing.com/"}')).channel == "organic_search"
    assert table.match(origin_of('{"lead_source": "Word of mouth"}')).channel == "referral"


def test_a_touch_may_carry_a_channel_the_active_rules_declare():
    touch = {"event_id": "e1", "source": "s", "event_type": "site_visit", "occurred_at": "2026-03-01T09:00:00Z",
             "anonymous_id": "a1", "channel": "g2", "subchannel": "reviews"}
    assert [str(e) for e in validate_touch(touch)] == ["channel: unknown value 'g2'"]
    previous = channels.use_channel_rules(rules("g2,reviews,g2*,,,,,,", "direct,,,,,,,,"))
    try:
        accepted = validate_touch(touch)
        assert isinstance(accepted, TouchEvent) and (accepted.channel, accepted.subchannel) == ("g2", "reviews")
        assert [str(e) for e in validate_touch({**touch, "channel": "email"})] == ["channel: unknown value 'email'"]
        assert channels.channel_from_utm({"source": "G2.com"}) == "g2"
    finally:
        channels.use_channel_rules(previous)
    assert channels.declared_channels() == channels.DEFAULT_CHANNEL_RULES.channels
