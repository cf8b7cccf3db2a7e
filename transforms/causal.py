"""A causal simulator: buyer journeys where each channel's true incremental effect is known.

The model, per account (every draw seeded by ``(seed, account number)``):

- **Intent** ``u ~ Normal(0, 1)``: how much the account is in the market.
- **Exposure**: in each of three phases (before the lead, between lead and opportunity,
  between opportunity and the decision) the account gets ``Poisson(rate · exp(intent · u))``
  touches of each channel, placed in the phase around the channel's ``timing`` (0 early,
  1 late). A channel with a positive ``intent`` loading reaches in-market accounts more:
  exposure and conversion are correlated without the channel causing it.
- **Conversion**: an account moves to lead with probability
  ``1 - (1 - b_lead(u)) · Π_c (1 - e_c,lead)^n_c``, where ``n_c`` counts the channel's
  touches before the lead and ``b(u)`` is the baseline — the chance to convert with no touch
  at all, ``baseline`` at average intent, its odds multiplied by ``exp(intent_on_baseline · u)``.
  A lead becomes an opportunity, and an opportunity is won, the same way with that stage's
  baseline and effects, counting every touch so far. A deal's amount and currency are drawn
  once per account.
- **Touches on the wire**: each channel touch is a one-way event of its channel; the lead is a
  ``form_fill`` through the channel of the account's latest touch (none without one), then
  ``opportunity_created``, and ``closed_won`` or ``closed_lost``. Last touch therefore credits
  the channel that happened to come last — late, intent-driven channels — by construction.

The **truth** is counterfactual and exact for the seed: every account's uniforms, counts and
times are drawn once (common random numbers), and the same accounts are re-run with one
channel's touches removed. A channel's incremental conversions (and revenue, pipeline, per
currency) are those of the run with it minus those of the run without it. No attribution
model is involved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from transforms.types import iso

STAGES = ("lead", "opportunity", "closed_won")
PHASE_DAYS = (60.0, 45.0, 45.0)  # before the lead, to the opportunity, to the decision
CURRENCIES = (("USD", 0.7), ("EUR", 0.2), ("GBP", 0.1))
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ChannelEffect:
    """One channel: how it reaches accounts, and what each of its touches does to each stage's chance."""

    channel: str
    rate: float  # touches per phase for an account of average intent
    intent: float = 0.0  # exposure is multiplied by exp(intent · u)
    timing: float = 0.5  # where in a phase its touches fall: 0 early, 1 late
    lead: float = 0.0  # per touch: the share of the remaining chance to become a lead it adds
    opportunity: float = 0.0  # the same for lead → opportunity
    closed_won: float = 0.0  # the same for opportunity → won
    event_type: str = "site_visit"  # a one-way touch type (never an engaged one: the lead is the form fill)
    team: str = "marketing"


#: The default population: two channels with no effect that follow intent (direct comes late), one small
#: late effect that follows intent (paid_search), and real effects that follow it little (webinar, events) or
#: not at all (outbound, email; paid_social's effect is small).
DEFAULT_EFFECTS = (
    ChannelEffect("paid_search", 0.8, intent=1.2, timing=0.85, lead=0.03, event_type="ad_click"),
    ChannelEffect("direct", 0.5, intent=1.0, timing=0.95),
    ChannelEffect("organic_search", 0.8, intent=0.8, timing=0.6, lead=0.04, opportunity=0.02),
    ChannelEffect("paid_social", 1.2, timing=0.2, lead=0.01, event_type="ad_click"),
    ChannelEffect("email", 1.2, timing=0.5, lead=0.05, opportunity=0.03, closed_won=0.01, event_type="email_open"),
    ChannelEffect("webinar", 0.5, intent=0.2, timing=0.3, lead=0.15, opportunity=0.08, closed_won=0.03,
                  event_type="webinar_registered"),
    ChannelEffect("events", 0.3, intent=0.3, timing=0.4, lead=0.10, opportunity=0.15, closed_won=0.10,
                  event_type="event_attended"),
    ChannelEffect("outbound", 0.8, timing=0.5, lead=0.06, opportunity=0.10, closed_won=0.06, event_type="email_sent",
                  team="sdr"),
)


@dataclass(frozen=True, slots=True)
class CausalSettings:
    """What to simulate."""

    accounts: int = 2000
    seed: int = 7
    start: datetime = DEFAULT_START
    channels: tuple[ChannelEffect, ...] = DEFAULT_EFFECTS
    baseline: tuple[float, float, float] = (0.05, 0.20, 0.25)  # lead, lead → opportunity, → won, with no touch
    intent_on_baseline: float = 1.0  # the baseline's odds are multiplied by exp(this · u)
    spread_days: float = 180.0  # accounts start within this many days of start


@dataclass(frozen=True, slots=True)
class _Account:
    """Every draw of one account, made once (common random numbers)."""

    number: int
    intent: float
    counts: tuple[tuple[int, ...], ...]  # (phases × channels) touches
    positions: tuple[tuple[tuple[float, ...], ...], ...]  # per phase, per channel: where in the phase
    uniforms: tuple[float, ...]  # one per stage
    amount: float
    currency: str
    offset_days: float


@dataclass(frozen=True, slots=True)
class CausalRun:
    """The simulated touches (touch/1 records, in time order) and the counterfactual truth."""

    records: list[dict[str, Any]]
    truth: dict[str, Any] = field(default_factory=dict)


def _draw(settings: CausalSettings, number: int) -> _Account:
    rng = np.random.default_rng([settings.seed, number])
    intent = float(rng.normal())
    rates = np.array([c.rate * math.exp(c.intent * intent) for c in settings.channels])
    counts = rng.poisson(np.tile(rates, (len(STAGES), 1)))
    # one draw for every touch in (phase, channel) order: the numbers of one draw per phase and channel, at once
    flat = counts.ravel()
    timing = np.repeat(np.tile([c.timing for c in settings.channels], len(STAGES)), flat)
    where = np.clip(timing + 0.15 * rng.normal(size=timing.size), 0.02, 0.98)
    cells = [tuple(cell.tolist()) for cell in np.split(where, np.cumsum(flat)[:-1])]
    width = len(settings.channels)
    positions = tuple(tuple(cells[start:start + width]) for start in range(0, len(cells), width))
    uniforms = rng.random(len(STAGES))
    amount = round(float(rng.lognormal(10.3, 0.6)), 2)
    currency = CURRENCIES[int(rng.choice(len(CURRENCIES), p=[w for _, w in CURRENCIES]))][0]
    return _Account(number, intent, tuple(tuple(row) for row in counts.tolist()), positions, tuple(uniforms.tolist()),
                    amount, currency, float(rng.uniform(0, settings.spread_days)))


def _baseline(rate: float, intent: float, loading: float) -> float:
    """``rate`` at average intent, its odds multiplied by exp(loading · intent) (0 and 1 stay put)."""
    odds = rate * math.exp(loading * intent)
    return odds / (1 - rate + odds) if rate < 1 else 1.0


def outcome(account: _Account, settings: CausalSettings, removed: frozenset[str] = frozenset()) -> tuple[bool, ...]:
    """Whether the account became a lead, an opportunity, and won, with the ``removed`` channels' touches gone."""
    kept = [c.channel not in removed for c in settings.channels]
    seen = [0] * len(settings.channels)
    reached: list[bool] = []
    for stage, name in enumerate(STAGES):
        seen = [n + m * k for n, m, k in zip(seen, account.counts[stage], kept, strict=True)]
        if stage and not reached[-1]:
            reached.append(False)
            continue
        stays = 1 - _baseline(settings.baseline[stage], account.intent, settings.intent_on_baseline)
        for channel, n in zip(settings.channels, seen, strict=True):
            stays *= (1 - getattr(channel, name)) ** n
        reached.append(bool(account.uniforms[stage] < 1 - stays))
    return tuple(reached)


def _amounts(accounts: list[_Account], flags: list[tuple[bool, ...]], stage: int) -> dict[str, float]:
    found: dict[str, float] = {}
    for account, flag in zip(accounts, flags, strict=True):
        if flag[stage]:
            found[account.currency] = round(found.get(account.currency, 0.0) + account.amount, 2)
    return dict(sorted(found.items()))


def _tally(accounts: list[_Account], flags: list[tuple[bool, ...]]) -> dict[str, Any]:
    return {"lead": {"conversions": sum(f[0] for f in flags)},
            "opportunity": {"conversions": sum(f[1] for f in flags), "pipeline": _amounts(accounts, flags, 1)},
            "closed_won": {"conversions": sum(f[2] for f in flags), "revenue": _amounts(accounts, flags, 2)}}


def _minus(full: dict[str, Any], without: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage, figures in full.items():
        out[stage] = {"incremental_conversions": figures["conversions"] - without[stage]["conversions"]}
        for money in ("pipeline", "revenue"):
            if money in figures:
                out[stage][f"incremental_{money}"] = {
                    c: round(v - without[stage][money].get(c, 0.0), 2) for c, v in figures[money].items()}
    return out


def truth(accounts: list[_Account], settings: CausalSettings) -> dict[str, Any]:
    """The counterfactual truth: per channel and conversion type, the run with it minus the run without it."""
    names = [c.channel for c in settings.channels]
    full = _tally(accounts, [outcome(a, settings) for a in accounts])
    everything = frozenset(names)
    return {
        "truth": "touchline-causal/1",
        "seed": settings.seed,
        "accounts": settings.accounts,
        "method": "incremental = the seeded simulation with the channel minus the same simulation (same random "
                  "numbers) with that channel's touches removed",
        "conversions": full,
        "without_any_channel": _tally(accounts, [outcome(a, settings, everything) for a in accounts]),
        "channels": {name: _minus(full, _tally(accounts, [outcome(a, settings, frozenset([name]))
                                                          for a in accounts])) for name in names},
    }


def _records(account: _Account, settings: CausalSettings, reached: tuple[bool, ...]) -> list[dict[str, Any]]:
    account_id = f"acct-{account.number:05d}"
    begin = settings.start + timedelta(days=account.offset_days)
    out: list[dict[str, Any]] = []

    def emit(event_type: str, at: datetime, team: str, **more: Any) -> None:
        out.append({"event_id": f"{account_id}-{len(out) + 1:04d}", "source": "generator", "event_type": event_type,
                    "occurred_at": iso(at), "account_id": account_id, "email": f"buyer@{account_id}.example",
                    "team": team, **more})

    deal = {"opportunity_id": f"opp-{account_id}", "amount": account.amount, "currency": account.currency}
    milestones = (("form_fill", "marketing"), ("opportunity_created", "sales"), ("closed_won", "sales"))
    phase_start = begin
    last_channel: str | None = None
    for stage, days in enumerate(PHASE_DAYS):
        touches = sorted((position, channel.channel, channel)
                         for channel, where in zip(settings.channels, account.positions[stage], strict=True)
                         for position in where)
        for position, _, channel in touches:
            emit(channel.event_type, phase_start + timedelta(days=days * position), channel.team,
                 channel=channel.channel)
            last_channel = channel.channel
        phase_end = phase_start + timedelta(days=days)
        if not reached[stage]:
            if stage == len(STAGES) - 1:
                emit("closed_lost", phase_end, "sales", **deal)
            break
        kind, team = milestones[stage]
        if stage == 0:
            emit(kind, phase_end, team, **({"channel": last_channel} if last_channel else {}))
        else:
            emit(kind, phase_end, team, **deal)
        phase_start = phase_end
    return out


def effects_from(spec: Mapping[str, Any], base: CausalSettings = CausalSettings()) -> CausalSettings:
    """Settings from an effects document: ``{"baseline": {"lead": …, "opportunity": …, "closed_won": …},
    "intent_on_baseline": …, "channels": {name: {"rate": …, "intent": …, "timing": …, "lead": …, …}}}``."""
    allowed = {f.name for f in fields(ChannelEffect)} - {"channel"}
    channels = []
    for name, given in (spec.get("channels") or {}).items():
        if not isinstance(given, Mapping) or "rate" not in given:
            raise ValueError(f"channels.{name}: needs an object with at least 'rate'")
        unknown = set(given) - allowed
        if unknown:
            raise ValueError(f"channels.{name}: unknown field(s) {', '.join(sorted(unknown))}")
        effect = ChannelEffect(name, **given)
        for key in ("lead", "opportunity", "closed_won"):
            if not 0 <= getattr(effect, key) <= 1:
                raise ValueError(f"channels.{name}.{key}: an effect lies between 0 and 1")
        if effect.rate < 0:
            raise ValueError(f"channels.{name}.rate: must not be negative")
        channels.append(effect)
    baseline = spec.get("baseline") or {}
    lead, opportunity, won = (float(baseline.get(stage, default))
                              for stage, default in zip(STAGES, base.baseline, strict=True))
    rates = (lead, opportunity, won)
    if not all(0 <= r <= 1 for r in rates):
        raise ValueError("baseline: each stage's rate lies between 0 and 1")
    return CausalSettings(base.accounts, base.seed, base.start, tuple(channels) or base.channels, rates,
                          float(spec.get("intent_on_baseline", base.intent_on_baseline)), base.spread_days)


def simulate(settings: CausalSettings) -> CausalRun:
    """The touches of the population and its counterfactual truth."""
    accounts = [_draw(settings, number) for number in range(1, settings.accounts + 1)]
    records = [r for a in accounts for r in _records(a, settings, outcome(a, settings))]
    records.sort(key=lambda r: (r["occurred_at"], r["event_id"]))
    return CausalRun(records, truth(accounts, settings))
