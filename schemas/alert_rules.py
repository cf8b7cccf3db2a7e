"""The alert rules file: ``[[destination]]`` and ``[[rule]]`` tables, checked before anything starts.

```toml
[[destination]]
name = "revops"
kind = "webhook"                 # webhook | slack | salesforce_task | hubspot_task
url = "https://hooks.example.com/touchline"
secret = "whsec_..."             # webhook: a Standard Webhooks signing secret (base64 after the prefix)

[[rule]]
on = "sla_breach"                # sla_breach | lead | stage_change | re_engagement | lead_verdict
to = ["revops"]
```

A problem is reported with the line of the table or key it is about (:class:`AlertRulesError`).
"""

from __future__ import annotations

import base64
import binascii
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.vocabulary import Stage

Kind = Literal["webhook", "slack", "salesforce_task", "hubspot_task"]
On = Literal["sla_breach", "lead", "stage_change", "re_engagement", "lead_verdict"]
#: Filters an ``sla_breach`` rule may use: breach records carry the lead touch's channel, campaign and team, but
#: a lead has no amount.
BREACH_FILTERS = frozenset({"channel", "team", "campaign", "account_ids"})
TOUCH_FILTERS = frozenset({"channel", "team", "campaign", "account_ids", "min_amount"})


class AlertRulesError(ValueError):
    """A rules file that cannot be used: where (file and line) and what is wrong."""


class Destination(BaseModel):
    """Where alerts go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: Kind
    url: AnyHttpUrl | None = None  # webhook and slack: required; CRM tasks: the CRM settings' URL when unset
    secret: str | None = None

    @field_validator("secret")
    @classmethod
    def _whsec(cls, secret: str | None) -> str | None:
        if secret is None:
            return None
        if not secret.startswith("whsec_"):
            raise ValueError("a Standard Webhooks secret starts with whsec_")
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the part after whsec_ must be base64") from None
        if len(key) < 24:
            raise ValueError("the key after whsec_ must be 24 to 64 bytes")
        return secret

    @model_validator(mode="after")
    def _needs(self) -> Destination:
        if self.kind in ("webhook", "slack") and self.url is None:
            raise ValueError(f"a {self.kind} destination needs a url")
        if self.kind == "webhook" and self.secret is None:
            raise ValueError("a webhook destination needs a secret (whsec_...): receivers verify the signature")
        if self.kind != "webhook" and self.secret is not None:
            raise ValueError(f"secret is for webhook destinations, not {self.kind}")
        return self


class Rule(BaseModel):
    """What to alert on, which records qualify, and where it goes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None  # names the rule in alert ids; unset: derived from what the rule says
    on: On
    to: tuple[str, ...] = Field(min_length=1)
    to_stage: Stage | None = None
    channel: tuple[str, ...] | None = None
    team: tuple[str, ...] | None = None
    campaign: tuple[str, ...] | None = None
    account_ids: tuple[str, ...] | None = None
    min_amount: float | None = None

    @field_validator("channel", "team", "campaign", "account_ids", "to", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fits(self) -> Rule:
        if self.on == "stage_change" and self.to_stage is None:
            raise ValueError("a stage_change rule needs to_stage")
        if self.on != "stage_change" and self.to_stage is not None:
            raise ValueError("to_stage is for stage_change rules")
        if self.on == "sla_breach":
            used = {name for name in TOUCH_FILTERS if getattr(self, name) is not None}
            if used - BREACH_FILTERS:
                raise ValueError(f"an sla_breach rule filters on {', '.join(sorted(BREACH_FILTERS))} only (breach "
                                 f"records carry no {', '.join(sorted(used - BREACH_FILTERS))})")
        return self

    @property
    def rule_id(self) -> str:
        """A stable name: the given one, else what the rule says (editing another rule changes nothing)."""
        if self.name:
            return self.name
        said = self.model_dump(exclude={"to", "name"}, exclude_none=True, mode="json")
        return self.on + "".join(f";{key}={said[key]}" for key in sorted(said) if key != "on")


class AlertRules(BaseModel):
    """A whole rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    destination: tuple[Destination, ...] = ()
    rule: tuple[Rule, ...] = ()

    def destinations(self) -> dict[str, Destination]:
        """Destinations by name."""
        return {d.name: d for d in self.destination}


def _header_lines(text: str, table: str) -> list[int]:
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    return [number for number, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def line_of(text: str, location: tuple[int | str, ...]) -> int | None:
    """The line of ``location`` (``("rule", 1, "to")``): the key's line in its table, else the table's header."""
    if len(location) < 2 or not isinstance(location[1], int):
        if location and isinstance(location[0], str):
            found = [n for n, line in enumerate(text.splitlines(), 1) if re.match(rf"^\s*{location[0]}\s*=", line)]
            return found[0] if found else None
        return None
    headers = _header_lines(text, str(location[0]))
    if location[1] >= len(headers):
        return None
    start = headers[location[1]]
    lines = text.splitlines()
    if len(location) > 2:
        key = re.compile(rf"^\s*{re.escape(str(location[2]))}\s*=")
        for number in range(start + 1, len(lines) + 1):
            line = lines[number - 1]
            if line.lstrip().startswith("["):
                break
            if key.match(line):
                return number
    return start


def parse_rules(text: str, origin: str = "rules") -> AlertRules:
    """The rules of a TOML text; raises :class:`AlertRulesError` naming the line and the problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AlertRulesError(f"{origin}: not TOML: {error}") from None
    try:
        rules = AlertRules.model_validate(document)
    except ValidationError as error:
        # an unknown key first: a typo ("too = ...") also shows as the missing key it meant
        first = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        location = tuple(first["loc"])
        problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        line = line_of(text, location)
        where = f"{origin}:{line}" if line else origin
        path = ".".join(str(part) for part in location)
        raise AlertRulesError(f"{where}: {path}: {problem}") from None
    names = rules.destinations()
    if len(names) != len(rules.destination):
        seen: set[str] = set()
        for index, destination in enumerate(rules.destination):
            if destination.name in seen:
                line = line_of(text, ("destination", index, "name"))
                raise AlertRulesError(f"{origin}:{line}: destination.{index}.name: {destination.name!r} is taken")
            seen.add(destination.name)
    for index, rule in enumerate(rules.rule):
        unknown = [name for name in rule.to if name not in names]
        if unknown:
            line = line_of(text, ("rule", index, "to"))
            raise AlertRulesError(f"{origin}:{line}: rule.{index}.to: unknown destination {unknown[0]!r} "
                                  f"(destinations: {', '.join(sorted(names)) or 'none'})")
    return rules


def load_rules(path: Path) -> AlertRules:
    """The rules file at ``path``; :class:`AlertRulesError` names the line and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AlertRulesError(f"{path}: {error.strerror or error}") from None
    return parse_rules(text, str(path))
