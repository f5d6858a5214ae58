"""How the console shows money and instants (Jinja filters; no I/O).

Money is shown in its own currency with the customer's locale (taken from the customer's
country: SI -> Slovenian conventions), instants in the operator's time zone (the browser
reports it in the `console_tz` cookie; UTC until it does).
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal

DEFAULT_LOCALE = "en_GB"


def locale_for(country: str | None) -> str:
    """The most likely locale of a country (ISO 3166-1 alpha-2), e.g. DE -> de_DE."""
    if not country:
        return DEFAULT_LOCALE
    try:
        return str(Locale.parse(f"und_{country.upper()}"))
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE


def money(amount: Any, currency: str | None, country: str | None = None) -> str:
    """`19,99 €` for a Slovenian customer, `€19.99` for an Irish one. Non-currency
    resources (MB, MIN) are shown as a number and their code."""
    if amount in (None, ""):
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    locale = locale_for(country)
    if currency and len(currency) == 3 and currency.isalpha() and currency.isupper() and _is_currency(currency):
        return format_currency(value, currency, locale=locale)
    return f"{format_decimal(value, locale=locale)} {currency or ''}".strip()


def _is_currency(code: str) -> bool:
    from babel.numbers import get_currency_name

    return get_currency_name(code, locale="en") != code


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def instant(value: Any, tz: str | None = None) -> str:
    """An ISO 8601 instant from the API, in the operator's zone: `2026-11-29 09:41 CET`."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, "yyyy-MM-dd HH:mm zzz", tzinfo=zone(tz), locale="en")
