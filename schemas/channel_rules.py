"""Channel rules as data: which channel (and sub-channel) a touch's origin belongs to.

A rules file is a CSV with a header, in the shape of Marketo Measure's online-channel rules:
``channel, subchannel`` and then the match columns ``utm_source, utm_medium, utm_campaign,
referrer, landing_page`` (web touches) and ``lead_source, campaign_type`` (CRM touches). It is read
top-down and the **first matching rule wins**. In a match cell:

- an empty cell matches anything, a missing value included;
- ``*`` alone matches any value that is present; ``*`` at either end (or both) of a value is a
  wildcard (``*google.*``: contains ``google.``; ``cpc*``: starts with ``cpc``);
- ``;`` separates alternatives (``cpc;ppc``: either);
- matching ignores case and the spaces around a value;
- a ``referrer`` or ``landing_page`` value without a ``/`` matches the URL's host; with one, the
  host and path (``news.ycombinator.com/item*``).

A rule that names ``lead_source`` or ``campaign_type`` is a CRM rule and only CRM values meet it;
every other rule is a web rule, met only by web touches (UTMs, referrer, landing page). A line whose
first cell starts with ``#`` is a comment. The shipped file, ``schemas/channel_rules.csv``, is
Touchline's own taxonomy; the channels a touch may carry are those its rules declare.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

DEFAULT_FILE = Path(__file__).with_name("channel_rules.csv")
WEB_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "referrer", "landing_page")
CRM_COLUMNS = ("lead_source", "campaign_type")
MATCH_COLUMNS = WEB_COLUMNS + CRM_COLUMNS
COLUMNS = ("channel", "subchannel", *MATCH_COLUMNS)
#: A channel's name: lower-case letters, digits and ``_``, starting with a letter.
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_URL_COLUMNS = frozenset({"referrer", "landing_page"})


class ChannelRulesError(ValueError):
    """A rules file that cannot be used, naming its line and the problem."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One match cell: alternatives, each an exact value or one with ``*`` at either end."""

    text: str
    alternatives: tuple[tuple[bool, str, bool], ...]  # (open start, core, open end)

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """A cell's pattern (lower-cased; empty alternatives dropped)."""
        found = []
        for part in text.split(";"):
            part = part.strip().lower()
            if part:
                found.append((part.startswith("*"), part.strip("*"), part.endswith("*")))
        return cls(text.strip(), tuple(found))

    @property
    def wants_path(self) -> bool:
        """Whether a URL column's value is matched with its path (the pattern names one)."""
        return "/" in self.text

    def matches(self, value: str) -> bool:
        """Whether ``value`` (already lower-cased and trimmed; empty = absent) meets the pattern."""
        if not self.alternatives:
            return True
        if not value:
            return False
        for open_start, core, open_end in self.alternatives:
            if open_start and open_end:
                hit = core in value
            elif open_start:
                hit = value.endswith(core)
            elif open_end:
                hit = value.startswith(core)
            else:
                hit = value == core
            if hit:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of a rules file."""

    line: int
    channel: str
    subchannel: str | None
    patterns: Mapping[str, Pattern]  # only the non-empty match cells

    @property
    def is_crm(self) -> bool:
        """Whether only CRM values meet this rule (it names a lead source or campaign type)."""
        return any(name in self.patterns for name in CRM_COLUMNS)


@dataclass(frozen=True, slots=True)
class Origin:
    """What a touch says about where it came from, normalized for matching (empty: absent)."""

    values: Mapping[str, str]
    hosts: Mapping[str, str]  # referrer / landing_page: the URL's host alone
    is_crm: bool

    @classmethod
    def web(cls, utm: Mapping[str, str], referrer: str | None = None, landing_page: str | None = None) -> Origin:
        """A web touch's origin: its UTM parameters (Segment's ``source``, ``medium``, ``name`` or
        ``campaign``, or ``utm_*`` keys), the page it came from and the page it landed on."""
        def utm_value(*names: str) -> str:
            for name in names:
                value = utm.get(name)
                if value is not None and str(value).strip():
                    return str(value).strip().lower()
            return ""

        values = {"utm_source": utm_value("source", "utm_source"), "utm_medium": utm_value("medium", "utm_medium"),
                  "utm_campaign": utm_value("name", "campaign", "utm_campaign")}
        hosts = {}
        for column, url in (("referrer", referrer), ("landing_page", landing_page)):
            host, with_path = _url_parts(url)
            values[column], hosts[column] = with_path, host
        return cls(values, hosts, is_crm=False)

    @classmethod
    def crm(cls, lead_source: str | None = None, campaign_type: str | None = None) -> Origin:
        """A CRM record's origin: its lead source or its campaign's type."""
        return cls({"lead_source": (lead_source or "").strip().lower(),
                    "campaign_type": (campaign_type or "").strip().lower()}, {}, is_crm=True)

    def value(self, column: str, pattern: Pattern) -> str:
        """The value a column's pattern is matched against."""
        if column in _URL_COLUMNS and not pattern.wants_path:
            return self.hosts.get(column, "")
        return self.values.get(column, "")


def _url_parts(url: str | None) -> tuple[str, str]:
    """A URL's host, and its host with its path (both lower-cased; empty without a host)."""
    if not url:
        return "", ""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "", ""
    if not host:
        return "", ""
    return host, (host + parts.path).lower()


@dataclass(frozen=True, slots=True)
class Match:
    """The rule that matched, and why."""

    rule: Rule
    reasons: tuple[str, ...]

    @property
    def channel(self) -> str:
        """The matched rule's channel."""
        return self.rule.channel

    @property
    def subchannel(self) -> str | None:
        """The matched rule's sub-channel, if it names one."""
        return self.rule.subchannel


class ChannelRules:
    """An ordered list of rules: the first that an origin meets names its channel."""

    def __init__(self, rules: tuple[Rule, ...], origin: str = "rules") -> None:
        self.rules = rules
        self.origin = origin
        #: The channels these rules declare: the values a touch's ``channel`` may take.
        self.channels = frozenset(rule.channel for rule in rules)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ChannelRules:
        """The rules of ``path``, or the shipped defaults; a bad file raises :class:`ChannelRulesError`."""
        path = Path(path) if path else DEFAULT_FILE
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ChannelRulesError(f"{path}: {exc.strerror or exc}") from exc
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, origin: str = "rules") -> ChannelRules:
        """Rules from a CSV document's text (``origin`` names it in errors)."""
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if not header:
            raise ChannelRulesError(f"{origin}:1: empty file: expected the header {','.join(COLUMNS)}")
        names = [name.strip().lower() for name in header]
        unknown = [name for name in names if name not in COLUMNS]
        if unknown:
            raise ChannelRulesError(f"{origin}:1: unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})")
        if "channel" not in names:
            raise ChannelRulesError(f"{origin}:1: no channel column")
        rules = []
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            if len(cells) > len(names):
                raise ChannelRulesError(f"{origin}:{line}: {len(cells)} cells, the header has {len(names)}")
            row = dict(zip(names, (cell.strip() for cell in cells), strict=False))
            channel = row.get("channel", "")
            if not CHANNEL_NAME.match(channel):
                raise ChannelRulesError(f"{origin}:{line}: channel: {channel!r} is not a channel name (lower-case "
                                        "letters, digits and _, starting with a letter)")
            patterns = {name: Pattern.parse(row[name]) for name in MATCH_COLUMNS if row.get(name)}
            rules.append(Rule(line, channel, row.get("subchannel") or None,
                              {name: p for name, p in patterns.items() if p.alternatives}))
        if not rules:
            raise ChannelRulesError(f"{origin}: no rules")
        return cls(tuple(rules), origin)

    def match(self, origin: Origin) -> Match | None:
        """The first rule ``origin`` meets, with the reasons; ``None`` when none does."""
        for rule in self.rules:
            if rule.is_crm != origin.is_crm:
                continue
            reasons = []
            for column, pattern in rule.patterns.items():
                value = origin.value(column, pattern)
                if not pattern.matches(value):
                    break
                reasons.append(f"{column} {value!r} matches {pattern.text!r}")
            else:
                return Match(rule, tuple(reasons) or ("the rule matches everything",))
        return None


def origin_of(text: str) -> Origin:
    """An origin to explain, from a URL (its ``utm_*`` query parameters; the page is its landing page) or a
    JSON object (``utm`` or ``utm_*`` keys, ``referrer``, ``landing_page``, ``lead_source``, ``campaign_type``)."""
    import json

    stripped = text.strip()
    if stripped.startswith("{"):
        document = json.loads(stripped)
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        if document.get("lead_source") or document.get("campaign_type"):
            return Origin.crm(document.get("lead_source"), document.get("campaign_type"))
        utm = {str(k): str(v) for k, v in (document.get("utm") or {}).items()}
        utm.update({k: str(v) for k, v in document.items() if k.startswith("utm_")})
        return Origin.web(utm, document.get("referrer"), document.get("landing_page") or document.get("url"))
    query = dict(parse_qsl(urlsplit(stripped).query))
    return Origin.web({k: v for k, v in query.items() if k.startswith("utm_")}, None, stripped)
