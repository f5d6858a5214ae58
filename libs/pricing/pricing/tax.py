"""Bill lines and their tax: each line rounds to the currency's minor unit and is taxed on its own;
totals are sums of the rounded lines, so an invoice always adds up line by line."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pricing.rounding import round_currency


@dataclass(frozen=True)
class TaxedLine:
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class Totals:
    lines: tuple[TaxedLine, ...]
    net: Decimal
    tax: Decimal
    gross: Decimal


def line_tax(net: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """Tax of one (already rounded) line at a rate in percent, rounded half-up to the minor unit."""
    if rate_percent < 0:
        raise ValueError("a tax rate must not be negative")
    return round_currency(net * rate_percent / 100, currency)


def taxed_line(amount: Decimal, rate_percent: Decimal | None, currency: str) -> TaxedLine:
    """A line from an amount at rating precision: rounded to the currency, then taxed (no rate: no tax)."""
    net = round_currency(amount, currency)
    tax = line_tax(net, rate_percent, currency) if rate_percent is not None else round_currency(Decimal(0), currency)
    return TaxedLine(net, tax)


def totals(lines: Iterable[tuple[Decimal, Decimal | None]], currency: str) -> Totals:
    """Lines `(amount, tax rate in percent or None)` rounded and taxed one by one, and their sums."""
    taxed = tuple(taxed_line(amount, rate, currency) for amount, rate in lines)
    zero = round_currency(Decimal(0), currency)
    net = sum((line.net for line in taxed), zero)
    tax = sum((line.tax for line in taxed), zero)
    return Totals(taxed, net, tax, net + tax)
