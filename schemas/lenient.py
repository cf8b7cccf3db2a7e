"""Values as trackers and CRM exports write them, read the way the receiving tools read them.

Shared by the Segment converter and the CRM importers: what cannot be read is passed on
unchanged, for validation to name the field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


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
