"""The controlled vocabulary of ``touch/1``: event types, teams, channels, stages.

Plain enums and constants, no third-party imports, so that the pure core
(``transforms/``) and the wire contract (``schemas/``) share one vocabulary.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What happened. Marketing and sales touches, CRM deal events, identity calls."""

    SITE_VISIT = "site_visit"
    AD_CLICK = "ad_click"
    EMAIL_SENT = "email_sent"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    EMAIL_REPLY = "email_reply"
    CONTENT_DOWNLOAD = "content_download"
    FORM_FILL = "form_fill"
    WEBINAR_REGISTERED = "webinar_registered"
    WEBINAR_ATTENDED = "webinar_attended"
    EVENT_ATTENDED = "event_attended"
    CHAT = "chat"
    CALL = "call"
    MEETING = "meeting"
    DEMO = "demo"
    TRIAL_SIGNUP = "trial_signup"
    OPPORTUNITY_CREATED = "opportunity_created"
    OPPORTUNITY_STAGE_CHANGED = "opportunity_stage_changed"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"
    RENEWAL = "renewal"
    UPSELL = "upsell"
    CHURN = "churn"
    LEAD_ACCEPTED = "lead_accepted"
    LEAD_REJECTED = "lead_rejected"
    LEAD_RECYCLED = "lead_recycled"
    LEAD_DISQUALIFIED = "lead_disqualified"
    IDENTIFY = "identify"
    GROUP = "group"


class Team(StrEnum):
    """Who drove the touch."""

    MARKETING = "marketing"
    SDR = "sdr"
    SALES = "sales"
    CUSTOMER_SUCCESS = "customer_success"
    PARTNER = "partner"


class Channel(StrEnum):
    """The marketing channel taxonomy."""

    ORGANIC_SEARCH = "organic_search"
    PAID_SEARCH = "paid_search"
    PAID_SOCIAL = "paid_social"
    EMAIL = "email"
    EVENTS = "events"
    WEBINAR = "webinar"
    OUTBOUND = "outbound"
    REFERRAL = "referral"
    PARTNER = "partner"
    DIRECT = "direct"


class Stage(StrEnum):
    """The four stages of the continuous-engagement journey."""

    FIND = "find"
    ENGAGE = "engage"
    CLOSE = "close"
    GROW = "grow"


class DispositionReason(StrEnum):
    """Why sales rejected or disqualified a lead (or recycled it): the reasons teams name most."""

    BAD_FIT = "bad_fit"  # wrong industry, size or region
    NO_BUDGET = "no_budget"
    NOT_DECISION_MAKER = "not_decision_maker"
    COMPETITOR = "competitor"
    STUDENT_OR_JOB_SEEKER = "student_or_job_seeker"
    BAD_CONTACT_DATA = "bad_contact_data"
    DUPLICATE = "duplicate"
    TIMING = "timing"  # not now
    NO_RESPONSE = "no_response"
    EXISTING_CUSTOMER = "existing_customer"
    OTHER = "other"  # the free text says what


class TimePrecision(StrEnum):
    """How precise ``occurred_at`` is: CRM exports often carry a date only."""

    INSTANT = "instant"
    DAY = "day"


#: The event type of a tracker's own event name that no mapping covers: ``custom:<name>``, a
#: one-way touch (it never moves a stage) that keeps its name until a mapping names it.
CUSTOM_PREFIX = "custom:"

#: Deal events must carry opportunity_id, amount and currency.
DEAL_EVENTS = frozenset(
    {
        EventType.OPPORTUNITY_CREATED,
        EventType.CLOSED_WON,
        EventType.CLOSED_LOST,
        EventType.RENEWAL,
        EventType.UPSELL,
    }
)

#: Sales' verdict on a lead: each answers it (its SLA clock stops).
DISPOSITION_EVENTS = frozenset(
    {
        EventType.LEAD_ACCEPTED,
        EventType.LEAD_REJECTED,
        EventType.LEAD_RECYCLED,
        EventType.LEAD_DISQUALIFIED,
    }
)

#: Dispositions that close the cycle's lead: the account is a prospect again, and its next engaged touch a new lead.
LEAD_CLOSING = frozenset({EventType.LEAD_REJECTED, EventType.LEAD_DISQUALIFIED})

#: Identity calls link identifiers and never become journey touches.
IDENTITY_EVENTS = frozenset({EventType.IDENTIFY, EventType.GROUP})

#: Touches that show intent: they move a Find account to Engage (the lead / MQL touch).
ENGAGED_EVENTS = frozenset(
    {
        EventType.FORM_FILL,
        EventType.WEBINAR_ATTENDED,
        EventType.EMAIL_REPLY,
        EventType.CHAT,
        EventType.CALL,
        EventType.MEETING,
        EventType.DEMO,
        EventType.TRIAL_SIGNUP,
    }
)

#: Teams whose touch answers a lead (the lead-response SLA clock stops).
RESPONDING_TEAMS = frozenset({Team.SDR, Team.SALES})

#: Person identifiers, strongest last; any one of these or an account identifier is required.
PERSON_ID_FIELDS = ("anonymous_id", "user_id", "email", "crm_contact_id")
ACCOUNT_ID_FIELDS = ("account_id", "account_domain")

#: Active ISO 4217 currency codes (funds and precious metals excluded).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
    JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UYW UZS VED VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 - a table reads better than 180 quoted strings
)
