"""Values as trackers and CRM exports write them, read the way the receiving tools read them.

Shared by the Segment converter and the CRM importers: what cannot be read is passed on
unchanged, for validation to name the field.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from schemas.vocabulary import DispositionReason


def trimmed(value: Any) -> Any:
    """Text without surrounding whitespace (an e-mail typed with a trailing space)."""
    return value.strip() if isinstance(value, str) else value


def amount(value: Any) -> Any:
    """A money amount written as text (``"5000"``, ``"250,000.00"``) as a number."""
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return value
    return value


def currency_code(value: Any) -> Any:
    """An ISO 4217 code in any case (``usd``) in upper case."""
    return value.strip().upper() if isinstance(value, str) else value


def website_host(website: Any) -> Any:
    """The host of a company's website, written as a URL or as a bare host (``www.initech.com/about``)."""
    if not isinstance(website, str) or not website.strip():
        return None
    website = website.strip()
    return urlsplit(website if "//" in website else "//" + website).hostname or website


#: How sales tools and people word the documented reasons (after lower-casing, punctuation as spaces).
_REASON_WORDS = {
    "bad fit": "bad_fit", "not a fit": "bad_fit", "poor fit": "bad_fit", "wrong industry": "bad_fit",
    "wrong size": "bad_fit", "too small": "bad_fit", "wrong region": "bad_fit",
    "budget": "no_budget", "no budget": "no_budget",
    "not decision maker": "not_decision_maker", "not a decision maker": "not_decision_maker",
    "no authority": "not_decision_maker",
    "competitor": "competitor", "student": "student_or_job_seeker", "job seeker": "student_or_job_seeker",
    "student or job seeker": "student_or_job_seeker", "bad contact data": "bad_contact_data",
    "bad data": "bad_contact_data", "invalid email": "bad_contact_data", "invalid contact": "bad_contact_data",
    "duplicate": "duplicate", "timing": "timing", "bad timing": "timing", "not now": "timing",
    "no response": "no_response", "unresponsive": "no_response", "unable to contact": "no_response",
    "existing customer": "existing_customer", "customer": "existing_customer", "other": "other",
}


def disposition_reason(reason: Any, note: Any = None) -> tuple[Any, Any]:
    """(reason, note) of a verdict on a lead: a documented reason however it is written (``No Budget``,
    ``job-seeker``); any other text becomes ``other`` and is kept as the note (unless there is one)."""
    if not isinstance(reason, str) or not reason.strip():
        return (None if reason is None or isinstance(reason, str) else reason), trimmed(note) or None
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", reason.lower()).split())
    if words.replace(" ", "_") in DispositionReason.__members__.values():
        return words.replace(" ", "_"), trimmed(note) or None
    if words in _REASON_WORDS:
        return _REASON_WORDS[words], trimmed(note) or None
    return DispositionReason.OTHER.value, trimmed(note) or reason.strip()
