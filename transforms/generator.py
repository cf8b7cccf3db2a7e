"""A seeded simulator of B2B buyer journeys, with the ground truth of every touch.

Each account has a buying group of 5–7 people and lives a story of phases: Find (one-way
touches, some from visitors not yet identified), a lead (an engaged touch, preceded by the
visitor's anonymous visits and their identify/group calls), SDR follow-up, Engage,
an opportunity, Close, then won (Grow: customer-success touches, upsells, renewals, churn)
or lost (back to nurture in a new cycle). Accounts go dormant and come back. Some people
use free-mail addresses and are never tied to an account.

The story decides every stage itself — the engine has to reproduce it, which is what the
ground truth is for. Gaps inside a phase stay under 30 days, so dormancy (default 90 days)
happens only where the story means it. Anonymous visits fall within 5 days before the
visitor's identification, inside the default allowed lateness of the streaming runner.

Faults are injected on request: duplicates, late (out-of-order) emission, and invalid
records. Pure: the same seed gives the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.vocabulary import Stage
from transforms.types import iso

FIND, ENGAGE, CLOSE, GROW = Stage.FIND, Stage.ENGAGE, Stage.CLOSE, Stage.GROW

ONE_WAY = ("site_visit", "ad_click", "email_open", "email_click", "content_download", "webinar_registered",
           "event_attended")
MARKETING_LEADS = ("form_fill", "webinar_attended", "trial_signup", "chat", "email_reply")
CHANNEL_OF = {
    "site_visit": ("organic_search", "direct", "referral", "paid_search"),
    "ad_click": ("paid_search", "paid_social"),
    "email_open": ("email",),
    "email_click": ("email",),
    "email_reply": ("email",),
    "content_download": ("organic_search", "paid_social", "email"),
    "webinar_registered": ("webinar",),
    "webinar_attended": ("webinar",),
    "event_attended": ("events",),
    "form_fill": ("organic_search", "paid_search", "paid_social", "referral", "partner"),
    "trial_signup": ("organic_search", "direct", "partner"),
    "chat": ("direct", "organic_search"),
}
#: The content asset a touch is about (``content_id``): a page's path, a download, a webinar.
CONTENT_OF = {
    "site_visit": ("/", "/pricing", "/product", "/blog/attribution-models"),
    "content_download": ("/ebook/roi-guide", "/whitepaper/security", "/report/state-of-revops"),
    "form_fill": ("/demo-request", "/pricing", "/ebook/roi-guide", "/whitepaper/security", "/case-study/globex"),
    "webinar_registered": ("webinar-roi-101", "webinar-product-tour"),
    "webinar_attended": ("webinar-roi-101", "webinar-product-tour"),
    "trial_signup": ("/trial",),
}
VERDICTS = ("lead_accepted", "lead_recycled", "lead_rejected", "lead_disqualified")
#: How sales judges a lead from each channel: (accepted, recycled, rejected, disqualified) weights.
VERDICT_RATES = {
    "referral": (0.70, 0.12, 0.12, 0.06), "partner": (0.65, 0.15, 0.14, 0.06),
    "webinar": (0.50, 0.25, 0.20, 0.05), "direct": (0.50, 0.20, 0.22, 0.08),
    "organic_search": (0.45, 0.22, 0.25, 0.08), "email": (0.40, 0.30, 0.22, 0.08),
    "paid_search": (0.38, 0.22, 0.28, 0.12), "paid_social": (0.25, 0.25, 0.32, 0.18),
}
#: Assets that show buying intent are accepted more often; reading material draws students and researchers.
ACCEPTANCE_BY_ASSET = {"/demo-request": 2.0, "/pricing": 1.6, "/trial": 1.8, "/ebook/roi-guide": 0.6,
                       "/whitepaper/security": 0.7}
REASONS = {
    "lead_rejected": (("bad_fit", 3), ("no_budget", 2), ("not_decision_maker", 2), ("student_or_job_seeker", 1),
                      ("bad_contact_data", 1), ("duplicate", 1)),
    "lead_disqualified": (("bad_fit", 2), ("competitor", 1), ("student_or_job_seeker", 2), ("bad_contact_data", 1)),
    "lead_recycled": (("timing", 4), ("no_budget", 1), ("no_response", 2)),
}
ROLES = ("champion", "decision_maker", "economic_buyer", "influencer", "user", "technical_evaluator")
WORDS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne",
         "soylent", "aperture", "vandelay", "pied", "massive", "nakatomi", "oscorp", "gringotts")
FIRST = ("ann", "bob", "carla", "dev", "eva", "femi", "gus", "hana", "ivan", "jo", "kai", "lea", "mo", "noor")
CURRENCY_WEIGHTS = (("USD", 0.7), ("EUR", 0.2), ("GBP", 0.1))
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class GeneratorSettings:
    """What to simulate and which faults to inject."""

    accounts: int = 500
    seed: int = 7
    start: datetime = DEFAULT_START
    days: int = 365
    duplicate_rate: float = 0.0  # share of events emitted twice
    resend_rate: float = 0.0  # share of events re-sent as a tracker retries: received later, an earlier event time
    late_rate: float = 0.0  # share of events emitted up to max_late_hours after later ones
    max_late_hours: float = 72.0
    invalid_rate: float = 0.0  # share of extra records that are malformed
    free_mail_rate: float = 0.1  # share of accounts with a free-mail visitor, never resolvable
    skew_rate: float = 0.0  # segment_call: share of calls sent from a device whose clock is off


@dataclass(frozen=True, slots=True)
class Truth:
    """What the story says a touch is: its account (None if unresolvable), stage and cycle."""

    event_id: str
    account_id: str | None
    stage: Stage | None
    cycle: int | None
    is_reengagement: bool = False


@dataclass(frozen=True, slots=True)
class Emitted:
    """One record as it goes on the wire, in emission order."""

    emit_at: datetime
    record: dict[str, Any] | None  # a touch/1 object, or None for a line that is not JSON
    raw: str | None = None  # that line
    truth: Truth | None = None  # None for identity calls, duplicates and malformed records
    malformed: bool = False  # validation must reject it
    duplicate: bool = False  # a second send of an earlier record


@dataclass(slots=True)
class Person:
    """A member of a buying group."""

    anonymous_id: str
    user_id: str
    email: str
    crm_contact_id: str
    role: str
    identified: bool = False


@dataclass(slots=True)
class _Story:
    """One account's life, told touch by touch with the stage the story intends."""

    rng: random.Random
    account_id: str
    domain: str
    people: list[Person]
    clock: datetime
    end: datetime
    events: list[tuple[dict[str, Any], Truth | None]] = field(default_factory=list)
    stage: Stage | None = None
    cycle: int = 0
    customer: bool = False
    reengaging: bool = False
    cycle_over: bool = True  # the next touch opens a new buying cycle
    counter: int = 0
    deal: dict[str, Any] = field(default_factory=dict)

    # --- telling -------------------------------------------------------------------------

    def advance(self, low_hours: float, high_hours: float) -> bool:
        """Move the clock on; False when the story has run out of time."""
        self.clock += timedelta(minutes=max(1, round(self.rng.uniform(low_hours, high_hours) * 60)))
        return self.clock < self.end

    def emit(self, event_type: str, person: Person | None, team: str, stage: Stage | None,
             *, anonymous: bool = False, **fields: Any) -> None:
        self.counter += 1
        record: dict[str, Any] = {
            "event_id": f"{self.account_id}-{self.counter:05d}",
            "source": "generator",
            "event_type": event_type,
            "occurred_at": iso(self.clock),
            "team": team,
        }
        if person is not None:
            if anonymous:
                record["anonymous_id"] = person.anonymous_id
            else:
                record.update(email=person.email, crm_contact_id=person.crm_contact_id, role=person.role)
                if person.identified:
                    record["anonymous_id"] = person.anonymous_id
                    record["user_id"] = person.user_id
        if not anonymous:
            record["account_id"] = self.account_id
        if event_type in CHANNEL_OF:
            record["channel"] = self.rng.choice(CHANNEL_OF[event_type])
        elif team in {"sdr", "sales"}:
            record["channel"] = "outbound"
        record.update(fields)
        if event_type in CHANNEL_OF:
            record["campaign_id"] = f"cmp-{record['channel']}-{self.rng.randint(1, 4)}"
        if event_type in CONTENT_OF:
            record["content_id"] = self.rng.choice(CONTENT_OF[event_type])
        truth = None
        if stage is not None:
            if self.cycle_over:
                self.cycle += 1
                self.cycle_over = False
            truth = Truth(record["event_id"], self.account_id, stage, self.cycle, self.reengaging)
            self.reengaging = False
        self.events.append((record, truth))

    def touch(self, event_type: str, team: str = "marketing", person: Person | None = None,
              **fields: Any) -> None:
        """A touch by a known person that leaves the stage where the story has it."""
        assert self.stage is not None
        self.emit(event_type, person or self.rng.choice(self.people), team, self.stage, **fields)

    def new_cycle(self, stage: Stage) -> None:
        self.stage = stage
        self.cycle_over = True

    def go_dormant(self) -> bool:
        """A long silence: the next touch is a re-engagement."""
        self.reengaging = True
        return self.advance(24 * 100, 24 * 250)

    # --- phases ----------------------------------------------------------------------------

    def run(self) -> None:
        phase = self.find
        while phase is not None and self.clock < self.end:
            phase = phase()

    def find(self) -> Any:
        self.new_cycle(FIND)
        for _ in range(self.rng.randint(1, 5)):
            if not self.advance(6, 24 * 12):
                return None
            self.touch(self.rng.choice(ONE_WAY))
        if self.rng.random() < 0.65:
            return self.lead
        return self.find if self.go_dormant() else None

    def lead(self) -> Any:
        person = self.rng.choice(self.people)
        if not person.identified:
            # Visits from a browser nobody knows yet, stitched back once the visitor says who they are.
            self.advance(24, 24 * 5)
            visits = len(self.events)
            for _ in range(self.rng.randint(1, 3)):
                if self.clock < self.end:
                    self.emit("site_visit", person, "marketing", self.stage, anonymous=True)
                self.advance(1, 20)
            if self.clock >= self.end:  # never identified: those visits stay unresolved
                self.events[visits:] = [(r, Truth(r["event_id"], None, None, None)) for r, _ in self.events[visits:]]
                return None
            person.identified = True
            self.emit("identify", person, "marketing", None, anonymous=True, user_id=person.user_id,
                      email=person.email)
            self.emit("group", person, "marketing", None, anonymous=True, user_id=person.user_id,
                      account_id=self.account_id, account_domain=self.domain)
        if not self.advance(0.05, 2):
            return None
        self.stage = ENGAGE
        self.touch(self.rng.choice(MARKETING_LEADS), person=person)
        lead = self.events[-1][0]
        # SDR follow-up, usually inside the 24 h SLA (some leads hear nothing until sales' verdict).
        if self.rng.random() < 0.8:
            late = self.rng.random() < 0.3
            if not self.advance(*((25, 96) if late else (0.5, 20))):
                return None
            self.touch(self.rng.choice(("call", "email_sent")), team="sdr", person=person)
        return self.verdict(lead)

    def verdict(self, lead: dict[str, Any]) -> Any:
        """Sales' verdict on the lead, at rates that depend on its channel and asset (some leads get none)."""
        if self.rng.random() < 0.1:
            return self.engage
        if not self.advance(*((25, 72) if self.rng.random() < 0.2 else (0.5, 20))):
            return None
        accepted, *others = VERDICT_RATES.get(lead.get("channel") or "", VERDICT_RATES["direct"])
        weights = [accepted * ACCEPTANCE_BY_ASSET.get(lead.get("content_id") or "", 1.0), *others]
        verdict = self.rng.choices(VERDICTS, weights)[0]
        reasons = REASONS.get(verdict, ())
        reason: dict[str, Any] = {}
        if reasons:
            reason["disposition_reason"] = self.rng.choices([r for r, _ in reasons], [w for _, w in reasons])[0]
        if verdict in ("lead_rejected", "lead_disqualified"):
            self.stage = FIND  # turned down: a prospect again, and the cycle is over
            self.touch(verdict, team="sdr", **reason)
            self.cycle_over = True
            if verdict == "lead_rejected" and self.rng.random() < 0.5:
                return self.find
            return self.restart if self.go_dormant() else None
        self.touch(verdict, team="sdr", **reason)
        if verdict == "lead_recycled" and self.rng.random() < 0.5:
            return self.restart if self.go_dormant() else None  # nurture: silence, then maybe back
        return self.engage

    def engage(self) -> Any:
        assert self.stage is ENGAGE
        for _ in range(self.rng.randint(1, 6)):
            if not self.advance(12, 24 * 20):
                return None
            kind = self.rng.random()
            if kind < 0.5:
                self.touch(self.rng.choice(ONE_WAY))
            elif kind < 0.8:
                self.touch(self.rng.choice(("call", "email_sent", "meeting")), team="sdr")
            else:
                self.touch(self.rng.choice(("webinar_attended", "email_reply", "form_fill")))
            if self.rng.random() < 0.1:  # a colleague writes in from the company domain only
                colleague = self.rng.choice(self.people)
                self.counter += 1
                self.events.append(({
                    "event_id": f"{self.account_id}-{self.counter:05d}", "source": "generator",
                    "event_type": "content_download", "email": colleague.email, "team": "marketing",
                    "channel": "organic_search", "occurred_at": iso(self.clock),
                }, Truth(f"{self.account_id}-{self.counter:05d}", self.account_id, self.stage, self.cycle)))
        if self.rng.random() < 0.55:
            return self.opportunity
        return self.restart if self.go_dormant() else None

    def restart(self) -> Any:
        """A prospect back from dormancy restarts at Find, in a new cycle."""
        return self.find

    def opportunity(self) -> Any:
        if not self.advance(2, 24 * 10):
            return None
        currency = self.rng.choices([c for c, _ in CURRENCY_WEIGHTS], [w for _, w in CURRENCY_WEIGHTS])[0]
        amount = round(self.rng.lognormvariate(10.3, 0.6), 2)
        self.deal = {"opportunity_id": f"opp-{self.account_id}-{self.counter:05d}", "amount": amount,
                     "currency": currency}
        self.stage = CLOSE
        self.touch("opportunity_created", team="sales", **self.deal)
        for _ in range(self.rng.randint(1, 6)):
            if not self.advance(24, 24 * 15):
                return None
            if self.rng.random() < 0.2:
                self.touch("opportunity_stage_changed", team="sales", **self.deal)
            else:
                self.touch(self.rng.choice(("meeting", "demo", "call", "email_sent", "site_visit",
                                            "content_download")), team=self.rng.choice(("sales", "sales", "sdr")))
        if not self.advance(24, 24 * 20):
            return None
        if self.rng.random() < 0.4:
            self.stage = GROW
            self.customer = True
            self.touch("closed_won", team="sales", **self.deal)
            return self.grow
        self.stage = ENGAGE
        self.touch("closed_lost", team="sales", **self.deal)
        self.cycle_over = True  # the lost deal ends its cycle; the next touch opens the next one
        if self.rng.random() < 0.5:
            return self.engage
        return self.restart if self.go_dormant() else None

    def grow(self) -> Any:
        renewal_due = self.clock + timedelta(days=365)
        while True:
            if self.rng.random() < 0.1:
                if not self.go_dormant():  # a quiet customer is still a customer
                    return None
            elif not self.advance(24 * 5, 24 * 45):
                return None
            if self.clock >= renewal_due:
                deal = {**self.deal, "opportunity_id": f"ren-{self.account_id}-{self.counter:05d}"}
                if self.rng.random() < 0.8:
                    self.touch("renewal", team="customer_success", **deal)
                    renewal_due += timedelta(days=365)
                    continue
                self.stage = FIND
                self.customer = False
                self.touch("churn", team="customer_success")
                self.cycle_over = True
                return self.find
            roll = self.rng.random()
            if roll < 0.08:
                upsell = {"opportunity_id": f"ups-{self.account_id}-{self.counter:05d}",
                          "amount": round(self.deal["amount"] * self.rng.uniform(0.1, 0.5), 2),
                          "currency": self.deal["currency"]}
                self.touch("opportunity_created", team="sales", **upsell)
                if not self.advance(24, 24 * 20):
                    return None
                self.touch("upsell" if self.rng.random() < 0.6 else "closed_lost", team="sales", **upsell)
            else:
                self.touch(self.rng.choice(("meeting", "call", "email_sent", "site_visit", "webinar_attended")),
                           team=self.rng.choice(("customer_success", "customer_success", "marketing")))


def _account(rng: random.Random, index: int, settings: GeneratorSettings) -> _Story:
    name = f"{rng.choice(WORDS)}{index}"
    account_id = f"acct-{index:05d}"
    domain = f"{name}.example"
    people = []
    for p in range(rng.randint(5, 7)):
        first = rng.choice(FIRST)
        people.append(Person(
            anonymous_id=f"anon-{index:05d}-{p}-{rng.getrandbits(24):06x}",
            user_id=f"usr-{index:05d}-{p}",
            email=f"{first}.{p}@{domain}",
            crm_contact_id=f"003{index:06d}{p}",
            role=rng.choice(ROLES),
        ))
    start = settings.start + timedelta(hours=rng.uniform(0, 24 * settings.days * 0.6))
    end = settings.start + timedelta(days=settings.days)
    return _Story(rng, account_id, domain, people, start, end)


def _free_mail_visitor(rng: random.Random, index: int, settings: GeneratorSettings) -> list[dict[str, Any]]:
    """Someone who reads and fills a form with a personal address: never tied to an account."""
    anon = f"anon-free-{index:05d}-{rng.getrandbits(24):06x}"
    when = settings.start + timedelta(hours=rng.uniform(0, 24 * settings.days - 48))
    records = []
    for n, kind in enumerate(("site_visit", "content_download", "form_fill")):
        when += timedelta(hours=rng.uniform(0.1, 12))
        records.append({
            "event_id": f"free-{index:05d}-{n}", "source": "generator", "event_type": kind,
            "occurred_at": iso(when), "anonymous_id": anon,
            "team": "marketing", "channel": "organic_search",
            **({"email": f"{rng.choice(FIRST)}{index}@gmail.com"} if kind == "form_fill" else {}),
        })
    return records


_MALFORMED = (
    lambda r: {**r, "occurred_at": r["occurred_at"].rstrip("Z")},  # naive timestamp
    lambda r: {k: v for k, v in r.items() if k != "source"},  # missing field
    lambda r: {**r, "event_type": "page_view"},  # unknown event type
    lambda r: {**r, "event_type": "closed_won", "amount": float("nan"), "currency": "USD",
               "opportunity_id": "x", "account_id": "acct-x"},  # NaN amount
    lambda r: {**r, "email": "not-an-address"},  # malformed e-mail
)


def segment_call(record: dict[str, Any], rng: random.Random, skew_rate: float) -> dict[str, Any]:
    """The touch as a tracker would have sent it: a Segment call, maybe from a skewed clock.

    ``originalTimestamp`` and ``sentAt`` come from the device clock (off by up to two days for
    a share ``skew_rate`` of calls); ``receivedAt`` is when a collector got it (Segment's exports
    carry it; a collector trusts only its own clock). Segment's correction
    ``receivedAt - (sentAt - originalTimestamp)`` gives back the true event time. The touch/1
    fields no Segment field holds travel in ``context.touchline``.
    """
    occurred = datetime.fromisoformat(record["occurred_at"])
    skew = timedelta(hours=rng.uniform(-48, 48)) if rng.random() < skew_rate else timedelta(0)
    delay = timedelta(seconds=rng.uniform(0.05, 30))
    kind = record["event_type"]
    call: dict[str, Any] = {
        "type": {"site_visit": "page", "identify": "identify", "group": "group"}.get(kind, "track"),
        "messageId": record["event_id"],
        "originalTimestamp": iso(occurred + skew),
        "sentAt": iso(occurred + delay + skew),
        "receivedAt": iso(occurred + delay),
    }
    if call["type"] == "track":
        call["event"] = kind
    for wire, name in (("anonymousId", "anonymous_id"), ("userId", "user_id")):
        if record.get(name):
            call[wire] = record[name]
    traits = {k: record[k] for k in ("email", "role") if record.get(k)}
    context: dict[str, Any] = {}
    if kind == "group":
        call["groupId"] = record["account_id"]
        call["traits"] = {"domain": record["account_domain"]}
    elif kind == "identify":
        call["traits"] = traits
    elif record.get("account_id"):
        context["groupId"] = record["account_id"]
    if traits and kind not in ("identify", "group"):
        context["traits"] = traits
    touchline = {k: record[k] for k in ("channel", "campaign_id", "team", "crm_contact_id", "opportunity_id",
                                        "amount", "currency", "content_id", "disposition_reason")
                 if record.get(k) is not None}
    if touchline:
        context["touchline"] = touchline
    if context:
        call["context"] = context
    return call


def resent(record: dict[str, Any], emit_at: datetime, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record as first received, and the copy a retry delivers: received 1 to 600 minutes later, and (its
    ``sentAt`` new, so the clock correction moves it) 1 to 120 seconds earlier in event time."""
    received = emit_at + timedelta(seconds=rng.uniform(0.1, 5))
    shift = timedelta(seconds=rng.uniform(1, 120))
    original = {**record, "received_at": iso(received)}
    retry = {**record, "received_at": iso(received + timedelta(minutes=rng.uniform(1, 600))),
             "occurred_at": iso(datetime.fromisoformat(record["occurred_at"]) - shift)}
    return original, retry


def generate(settings: GeneratorSettings) -> Iterator[Emitted]:
    """Every record of the simulated population, in emission order (faults included)."""
    rng = random.Random(settings.seed)
    clean: list[tuple[dict[str, Any], Truth | None]] = []
    for index in range(1, settings.accounts + 1):
        story = _account(rng, index, settings)
        story.run()
        clean += story.events
        if rng.random() < settings.free_mail_rate:
            clean += [(r, Truth(r["event_id"], None, None, None)) for r in _free_mail_visitor(rng, index, settings)]

    emitted: list[Emitted] = []
    for record, truth in clean:
        at = datetime.fromisoformat(record["occurred_at"])
        if rng.random() < settings.late_rate:
            emit_at = at + timedelta(hours=rng.uniform(1, settings.max_late_hours))
        else:
            emit_at = at
        sent = Emitted(emit_at, record, None, truth)
        if rng.random() < settings.duplicate_rate:
            emitted.append(Emitted(emit_at + timedelta(minutes=rng.uniform(1, 600)), record, duplicate=True))
        if settings.resend_rate and rng.random() < settings.resend_rate:
            original, retry = resent(record, emit_at, rng)
            sent = replace(sent, record=original)
            emitted.append(Emitted(datetime.fromisoformat(retry["received_at"]), retry, duplicate=True))
        emitted.append(sent)
        if rng.random() < settings.invalid_rate:
            broken = rng.choice(_MALFORMED)({**record, "event_id": record["event_id"] + "-bad"})
            emitted.append(Emitted(emit_at, broken, malformed=True))
        if rng.random() < settings.invalid_rate / 5:
            emitted.append(Emitted(emit_at, None, '{"event_id": "truncated', malformed=True))
    emitted.sort(key=lambda e: e.emit_at)
    yield from emitted
