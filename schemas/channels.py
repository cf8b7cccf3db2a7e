"""Map what trackers and CRMs say about a touch's origin onto the channel taxonomy."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from schemas.vocabulary import Channel

_SEARCH_ENGINES = ("google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.")
_SOCIAL_NETWORKS = ("linkedin", "facebook", "twitter", "x.com", "instagram", "reddit", "youtube", "tiktok")

_MEDIUMS = {
    "cpc": Channel.PAID_SEARCH,
    "ppc": Channel.PAID_SEARCH,
    "paid_search": Channel.PAID_SEARCH,
    "paidsearch": Channel.PAID_SEARCH,
    "sem": Channel.PAID_SEARCH,
    "paid_social": Channel.PAID_SOCIAL,
    "paidsocial": Channel.PAID_SOCIAL,
    "social_paid": Channel.PAID_SOCIAL,
    "display": Channel.PAID_SOCIAL,
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "newsletter": Channel.EMAIL,
    "webinar": Channel.WEBINAR,
    "event": Channel.EVENTS,
    "events": Channel.EVENTS,
    "tradeshow": Channel.EVENTS,
    "organic": Channel.ORGANIC_SEARCH,
    "organic_search": Channel.ORGANIC_SEARCH,
    "referral": Channel.REFERRAL,
    "social": Channel.REFERRAL,
    "partner": Channel.PARTNER,
    "affiliate": Channel.PARTNER,
    "outbound": Channel.OUTBOUND,
    "direct": Channel.DIRECT,
}

#: CRM "lead source" and campaign-type values, lower-cased.
_CRM_SOURCES = {
    "web": Channel.ORGANIC_SEARCH,
    "organic search": Channel.ORGANIC_SEARCH,
    "organic_search": Channel.ORGANIC_SEARCH,
    "seo": Channel.ORGANIC_SEARCH,
    "paid search": Channel.PAID_SEARCH,
    "paid_search": Channel.PAID_SEARCH,
    "advertisement": Channel.PAID_SEARCH,
    "paid social": Channel.PAID_SOCIAL,
    "paid_social": Channel.PAID_SOCIAL,
    "social media": Channel.PAID_SOCIAL,
    "email": Channel.EMAIL,
    "direct mail": Channel.EMAIL,
    "webinar": Channel.WEBINAR,
    "trade show": Channel.EVENTS,
    "conference": Channel.EVENTS,
    "event": Channel.EVENTS,
    "events": Channel.EVENTS,
    "seminar / conference": Channel.EVENTS,
    "partner": Channel.PARTNER,
    "partner referral": Channel.PARTNER,
    "referral": Channel.REFERRAL,
    "employee referral": Channel.REFERRAL,
    "external referral": Channel.REFERRAL,
    "word of mouth": Channel.REFERRAL,
    "outbound": Channel.OUTBOUND,
    "cold call": Channel.OUTBOUND,
    "purchased list": Channel.OUTBOUND,
    "phone inquiry": Channel.DIRECT,
    "direct": Channel.DIRECT,
    "other": Channel.DIRECT,
}


def channel_from_utm(utm: Mapping[str, str], referrer: str | None = None) -> Channel:
    """Classify a web touch by its UTM parameters, falling back to the referrer."""
    medium = utm.get("medium", "").strip().lower()
    source = utm.get("source", "").strip().lower()
    if medium in {"cpc", "ppc", "paid"} and any(net in source for net in _SOCIAL_NETWORKS):
        return Channel.PAID_SOCIAL
    if medium in _MEDIUMS:
        return _MEDIUMS[medium]
    if medium or source:
        return Channel.REFERRAL
    host = (urlsplit(referrer).hostname or "") if referrer else ""
    if not host:
        return Channel.DIRECT
    if any(engine in host for engine in _SEARCH_ENGINES):
        return Channel.ORGANIC_SEARCH
    return Channel.REFERRAL


def channel_from_crm(value: str | None) -> Channel | None:
    """Classify a CRM lead source or campaign type; ``None`` when it says nothing known."""
    if not value:
        return None
    return _CRM_SOURCES.get(value.strip().lower())
