"""ISO 4217 minor units: how many decimals an amount of a currency is rounded to on a bill."""
from __future__ import annotations

# Currencies whose minor unit differs from 2, plus the common 2-digit ones.
_MINOR_UNITS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}
_TWO_DIGIT = {
    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN",
    "CAD", "AUD", "NZD", "CNY", "INR", "BRL", "MXN", "ZAR", "TRY", "RSD", "BAM", "MKD",
    "ALL", "UAH", "ILS", "AED", "SAR", "SGD", "HKD",
}


class UnknownCurrency(ValueError):
    pass


def minor_units(currency: str) -> int:
    code = currency.upper()
    if code in _MINOR_UNITS:
        return _MINOR_UNITS[code]
    if code in _TWO_DIGIT:
        return 2
    raise UnknownCurrency(f"unknown ISO 4217 currency {currency!r}")


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except UnknownCurrency:
        return False
    return True
