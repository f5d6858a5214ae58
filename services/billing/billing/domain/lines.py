"""From bill items to invoice lines, free of I/O (seed "Bills", "Adjusting a bill").

Usage charges of one service (same balance group, resource, tax and GL code) sum into one line;
every other item is a line of its own. Each line rounds half-up to the currency's minor unit and
is taxed on its own; totals are sums of rounded lines, so an invoice always adds up on paper.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pricing import round_currency


class ItemKind(StrEnum):
    USAGE = "usage"
    RECURRING_FEE = "recurring_fee"
    ONE_TIME_FEE = "one_time_fee"
    DISCOUNT = "discount"
    ADJUSTMENT = "adjustment"
    HIERARCHY_TRANSFER = "hierarchy_transfer"


@dataclass(frozen=True)
class Tax:
    """A tax as applied to a line: the rate is the catalog's at the moment the invoice is issued."""

    code: str
    rate: Decimal  # percent
    supplier: str = ""
    gl_code: str = ""


@dataclass(frozen=True)
class Charge:
    """One bill item (unrounded amount, rating precision)."""

    kind: ItemKind
    description: str
    amount: Decimal
    tax_code: str | None = None
    gl_code: str | None = None
    balance_group_id: str | None = None
    resource: str | None = None
    service_id: str | None = None
    units: Decimal | None = None
    reference: str | None = None  # the member invoice of a hierarchy transfer, the item adjusted, ...
    events: int = 0
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    kind: ItemKind
    description: str
    amount: Decimal
    tax: Tax | None
    tax_amount: Decimal
    gl_code: str | None
    balance_group_id: str | None
    resource: str | None
    service_id: str | None
    units: Decimal | None
    reference: str | None
    events: int

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax_amount


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    total: Decimal


class UnknownTax(KeyError):
    pass


def invoice_lines(charges: Iterable[Charge], taxes: Mapping[str, Tax], currency: str) -> list[Line]:
    """Group usage per service, then round and tax each line. `taxes` maps every tax code used."""
    grouped: dict[tuple[Any, ...], list[Charge]] = {}
    for charge in charges:
        key: tuple[Any, ...]
        if charge.kind is ItemKind.USAGE:
            key = (ItemKind.USAGE, charge.service_id, charge.balance_group_id, charge.resource, charge.tax_code,
                   charge.gl_code)
        else:
            key = (id(charge),)
        grouped.setdefault(key, []).append(charge)
    return [_line(group, taxes, currency) for group in grouped.values()]


def _line(group: list[Charge], taxes: Mapping[str, Tax], currency: str) -> Line:
    first = group[0]
    amount = round_currency(sum((c.amount for c in group), Decimal(0)), currency)
    tax = None
    if first.tax_code:
        if first.tax_code not in taxes:
            raise UnknownTax(first.tax_code)
        tax = taxes[first.tax_code]
    tax_amount = round_currency(amount * tax.rate / 100, currency) if tax else round_currency(Decimal(0), currency)
    units = sum((c.units for c in group if c.units is not None), Decimal(0)) if first.units is not None else None
    return Line(kind=first.kind, description=first.description, amount=amount, tax=tax, tax_amount=tax_amount,
                gl_code=first.gl_code or (tax.gl_code if tax else None), balance_group_id=first.balance_group_id,
                resource=first.resource, service_id=first.service_id, units=units, reference=first.reference,
                events=sum(c.events for c in group))


def totals(lines: Iterable[Line], currency: str) -> Totals:
    zero = round_currency(Decimal(0), currency)
    lines = list(lines)
    net = sum((line.amount for line in lines), zero)
    tax = sum((line.tax_amount for line in lines), zero)
    return Totals(net=net, tax=tax, total=net + tax)
