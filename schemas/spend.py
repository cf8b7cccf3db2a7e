"""Convert ad platforms' spend exports to ``spend`` rows: one per (platform, account, campaign, day).

The shapes, as the platforms document them (our fixtures in ``tests/data/spend/`` name the pages):

- ``google_ads``: a Google Ads API (GAQL) campaign report, ``segments.date``, ``customer.id``,
  ``customer.currency_code``, ``campaign.id``, ``campaign.name``, ``metrics.cost_micros`` (cost in
  millionths of the account's currency), ``metrics.clicks``, ``metrics.impressions`` (as CSV columns,
  or the JSON of ``search``/``searchStream``, camelCase); or the Google Ads UI's downloaded campaign
  report: ``Day``, ``Campaign``, ``Campaign ID``, ``Currency code``, ``Cost``, ``Clicks``, ``Impr.``.
- ``linkedin_ads``: Campaign Manager's campaign performance export with a daily time breakdown:
  ``Start Date (in UTC)``, ``Account Name``/``Account ID``, ``Campaign ID``, ``Campaign Name``,
  ``Currency``, ``Total Spent``, ``Impressions``, ``Clicks``.
- ``meta_ads``: an Ads Manager export broken down by day: ``Day`` (or ``Reporting starts`` equal to
  ``Reporting ends``), ``Account ID``, ``Campaign ID``, ``Campaign name``, ``Amount spent (USD)``
  (the currency in the column's name, or a ``Currency`` column), ``Impressions``, ``Link clicks``.
- ``ga4_cost``: GA4's cost-data import file: ``utm_source``, ``utm_medium``, ``utm_id``,
  ``utm_campaign``, ``date``, ``daily_cost``, ``daily_clicks``, ``daily_impressions`` (in the
  property's currency: give it).
- ``csv``: Touchline's own ``date,campaign_id,campaign_name,channel,subchannel,amount,currency,clicks,
  impressions`` (``account_id`` and ``platform`` optional).

A campaign's channel is the file's (``csv``) or the channel rules': the platform's UTM source and
medium (``google``/``cpc``, ``linkedin``/``cpc``, ``facebook``/``cpc``; GA4's own columns) with the
campaign's id or name as ``utm_campaign`` (a rule meeting either counts; the earliest wins).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from schemas.channel_rules import ChannelRules, Match, Origin
from schemas.touch import FieldError
from schemas.vocabulary import CURRENCIES

FORMATS = ("google_ads", "linkedin_ads", "meta_ads", "ga4_cost", "csv")
#: The UTM source and medium of a platform's clicks, for the channel rules.
PLATFORM_UTM = {"google_ads": ("google", "cpc"), "linkedin_ads": ("linkedin", "cpc"),
                "meta_ads": ("facebook", "cpc")}
Row = Mapping[str, Any]


def column_key(name: str) -> str:
    """A column name as it is matched: lower case, camelCase split, letters and digits only, ``_`` between."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name).strip().lstrip("\ufeff"))
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


#: Each field's column names per format (as :func:`column_key` writes them), first present wins.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "google_ads": {"date": ("segments_date", "day", "date"), "account_id": ("customer_id", "customer_id_2"),
                   "currency": ("customer_currency_code", "currency_code", "currency"),
                   "campaign_id": ("campaign_id",), "campaign_name": ("campaign_name", "campaign"),
                   "cost_micros": ("metrics_cost_micros", "cost_micros"), "amount": ("cost",),
                   "clicks": ("metrics_clicks", "clicks"),
                   "impressions": ("metrics_impressions", "impr", "impressions")},
    "linkedin_ads": {"date": ("start_date_in_utc", "start_date", "date"), "end_date": ("end_date_in_utc", "end_date"),
                     "account_id": ("account_id", "account_name"), "currency": ("currency",),
                     "campaign_id": ("campaign_id",), "campaign_name": ("campaign_name", "campaign"),
                     "amount": ("total_spent", "amount_spent", "spent"), "clicks": ("clicks",),
                     "impressions": ("impressions",)},
    "meta_ads": {"date": ("day", "reporting_starts", "date"), "end_date": ("reporting_ends",),
                 "account_id": ("account_id", "account_name"), "currency": ("currency",),
                 "campaign_id": ("campaign_id",), "campaign_name": ("campaign_name",),
                 "amount": ("amount_spent",), "clicks": ("link_clicks", "clicks_all", "clicks"),
                 "impressions": ("impressions",)},
    "ga4_cost": {"date": ("date",), "utm_source": ("utm_source", "campaign_source", "source"),
                 "utm_medium": ("utm_medium", "campaign_medium", "medium"), "campaign_id": ("utm_id", "campaign_id"),
                 "campaign_name": ("utm_campaign", "campaign_name"), "amount": ("daily_cost", "cost"),
                 "clicks": ("daily_clicks", "clicks"), "impressions": ("daily_impressions", "impressions"),
                 "currency": ("currency",)},
    "csv": {name: (name,) for name in ("date", "platform", "account_id", "campaign_id", "campaign_name", "channel",
                                       "subchannel", "amount", "currency", "clicks", "impressions")},
}
#: What a file's header must hold to be read as the format (one name of each group).
REQUIRED = {"google_ads": ("date", "campaign_id"), "linkedin_ads": ("date", "campaign_id", "amount"),
            "meta_ads": ("date", "campaign_id", "amount"), "ga4_cost": ("date", "utm_source", "utm_medium", "amount"),
            "csv": ("date", "campaign_id", "amount")}
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_CURRENCY_IN_NAME = re.compile(r"\(([A-Za-z]{3})\)\s*$")


@dataclass(frozen=True, slots=True)
class Export:
    """What a spend file does not say about itself: the account, the currency, the rules naming channels."""

    platform_format: str
    rules: ChannelRules
    account: str | None = None  # for files without an account column
    currency: str | None = None  # for files without a currency (GA4 cost data: the property's)


class Header:
    """A file's header: which of its columns feeds which field."""

    def __init__(self, names: list[str], fmt: str) -> None:
        keys = [column_key(name) for name in names]
        self.columns: dict[str, str] = {}
        for field, candidates in COLUMNS[fmt].items():
            for candidate in candidates:
                hits = [name for name, key in zip(names, keys, strict=True) if key == candidate]
                if not hits and field == "amount":  # Meta names the currency: "Amount spent (USD)"
                    hits = [name for name, key in zip(names, keys, strict=True)
                            if key.startswith(candidate + "_") and _CURRENCY_IN_NAME.search(name)]
                if hits:
                    self.columns[field] = hits[0]
                    break
        amount = self.columns.get("amount")
        found = _CURRENCY_IN_NAME.search(amount) if amount else None
        self.named_currency = found.group(1).upper() if found else None  # Meta: "Amount spent (EUR)"
        self.missing = [field for field in REQUIRED[fmt] if field not in self.columns]
        if fmt == "google_ads" and not ({"cost_micros", "amount"} & set(self.columns)):
            self.missing.append("cost_micros or cost")

    def value(self, row: Row, field: str) -> str:
        """A field's text in a row ('' when absent)."""
        column = self.columns.get(field)
        value = row.get(column) if column else None
        return "" if value is None else str(value).strip()


def parse_day(text: str) -> date:
    """A report's day: ``2026-01-05``, ``20260105``, ``1/5/2026`` (month first, as US exports write it) or
    ``Jan 5, 2026``."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if found := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        return date(int(found[3]), int(found[1]), int(found[2]))
    if named := re.fullmatch(r"([A-Za-z]{3})[a-z]*\.? (\d{1,2}),? (\d{4})", text):
        numbered = _MONTHS.get(named[1].lower())
        if numbered:
            return date(int(named[3]), numbered, int(named[2]))
    raise ValueError(f"{text[:40]!r} is not a day (2026-01-05, 20260105, 1/5/2026 or Jan 5, 2026)")


def _number(text: str, field: str, *, whole: bool = False) -> float | int | None:
    cleaned = text.replace(",", "").replace("\u00a0", "").strip()
    if cleaned in ("", "--", "-"):
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{field}: {text[:40]!r} is not a number") from None
    if value != value or value < 0 or value in (float("inf"),):
        raise ValueError(f"{field}: {text[:40]!r} must be a number of at least 0")
    if whole:
        if value != int(value):
            raise ValueError(f"{field}: {text[:40]!r} must be a whole number")
        return int(value)
    return value


def _channel(export: Export, source: str, medium: str, campaign_id: str, name: str) -> Match | None:
    found = [export.rules.match(Origin.web({"source": source, "medium": medium, "name": campaign}))
             for campaign in (campaign_id, name) if campaign]
    hits = [match for match in found if match is not None]
    return min(hits, key=lambda match: match.rule.line) if hits else None


def spend_row(row: Row, header: Header, export: Export, declared: frozenset[str]) -> dict[str, Any] | list[FieldError]:
    """One report row as a ``spend`` record, or what is wrong with it (named by field)."""
    fmt = export.platform_format
    value: Callable[[str], str] = lambda field: header.value(row, field)  # noqa: E731 - a short local reader
    problems: list[FieldError] = []
    record: dict[str, Any] = {"platform": (value("platform") or fmt) if fmt == "csv" else fmt}
    try:
        day = parse_day(value("date"))
        end = value("end_date")
        if end and parse_day(end) != day:
            problems.append(FieldError(header.columns["end_date"], f"the row covers {day} to {parse_day(end)}: "
                                       "export with a daily breakdown (one row per campaign and day)"))
        record["spend_date"] = f"{day.isoformat()}T00:00:00Z"
    except ValueError as exc:
        problems.append(FieldError(header.columns.get("date", "date"), str(exc) if value("date") else
                                   "required field is missing"))
    campaign_id, name = value("campaign_id"), value("campaign_name")
    if not campaign_id and fmt == "ga4_cost":
        campaign_id = name  # utm_id is optional in GA4's cost data: the campaign name keys it then
    if not campaign_id:
        problems.append(FieldError(header.columns.get("campaign_id", "campaign_id"), "required field is missing"))
    record.update(campaign_id=campaign_id, campaign_name=name or None,
                  account_id=value("account_id").replace("-", "") if fmt == "google_ads" else value("account_id"))
    record["account_id"] = record["account_id"] or export.account or "default"
    try:
        micros = _number(value("cost_micros"), "cost_micros") if "cost_micros" in header.columns else None
        amount = micros / 1_000_000 if micros is not None else _number(value("amount"), "amount")
        if amount is None:
            problems.append(FieldError(header.columns.get("amount", header.columns.get("cost_micros", "amount")),
                                       "required field is missing"))
        record["amount"] = amount
        record["clicks"] = _number(value("clicks"), "clicks", whole=True)
        record["impressions"] = _number(value("impressions"), "impressions", whole=True)
    except ValueError as exc:
        field, _, problem = str(exc).partition(": ")
        problems.append(FieldError(header.columns.get(field, field), problem))
    currency = (value("currency") or header.named_currency or export.currency or "").upper()
    if currency not in CURRENCIES:
        problems.append(FieldError(header.columns.get("currency", "currency"),
                                   f"{currency!r} is not an ISO 4217 currency code" if currency else
                                   "no currency: the file has none, give --currency CODE"))
    record["currency"] = currency
    channel, subchannel = value("channel"), value("subchannel") or None
    if not channel:
        source, medium = PLATFORM_UTM.get(fmt, (value("utm_source"), value("utm_medium")))
        found = _channel(export, source, medium, campaign_id, name)
        channel, subchannel = (found.channel, subchannel or found.subchannel) if found else ("", subchannel)
    if channel and channel not in declared:
        problems.append(FieldError(header.columns.get("channel", "channel"),
                                   f"{channel!r} is not a channel the channel rules declare"))
    record.update(channel=channel or None, subchannel=subchannel)
    return problems or record


#: A spend row's key: the table holds one row per platform, account, campaign and day.
SPEND_KEY = ("platform", "account_id", "campaign_id", "spend_date")
#: What rows of one key must agree on to be added up.
_SAME = ("currency", "channel", "subchannel")


def summed(records: list[tuple[int, dict[str, Any]]], header: Header) -> tuple[list[dict[str, Any]],
                                                                               list[tuple[int, FieldError]]]:
    """One file's records with the rows of each key added up (amount, clicks, impressions): an export broken
    down further than campaign and day (by device, ad set, ad, placement) splits a campaign's day over rows.

    Rows of a key that disagree on currency, channel or sub-channel cannot be added: each such row is a
    problem (with its row number), and the key keeps the rows before it.
    """
    combined: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    problems: list[tuple[int, FieldError]] = []
    for number, record in records:
        key = tuple(record[name] for name in SPEND_KEY)
        if key not in combined:
            combined[key] = number, dict(record)
            continue
        first, total = combined[key]
        clash = next((name for name in _SAME if record[name] != total[name]), None)
        if clash is not None:
            problems.append((number, FieldError(header.columns.get(clash, clash), (
                f"{record[clash]!r}, but row {first} of the same campaign and day has {total[clash]!r}: "
                "rows of one campaign and day are added up, so they must agree"))))
            continue
        total["amount"] += record["amount"]
        for name in ("clicks", "impressions"):
            if record[name] is not None:
                total[name] = (total[name] or 0) + record[name]
        total["campaign_name"] = total["campaign_name"] or record["campaign_name"]
    return [total for _, total in combined.values()], problems
