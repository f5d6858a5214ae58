"""Invoice states, kinds and numbers, free of I/O.

An invoice is issued from a bill and frozen: its lines, tax rates and amounts never change. A
correction is a credit note (or debit note) that references it and has its own number series.
"""
from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    """As the seed's invoice list: billing (not fully paid) and closed (paid in full)."""

    BILLING = "billing"
    CLOSED = "closed"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


SERIES_PREFIX = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN", InvoiceKind.DEBIT_NOTE: "DN"}

# An invoice the customer still owes money on.
UNPAID = (InvoiceStatus.BILLING,)


def series(kind: InvoiceKind, year: int) -> str:
    """Each kind numbers per calendar year of issue: INV-2026, CN-2026, ..."""
    return f"{SERIES_PREFIX[kind]}-{year}"


def invoice_number(series_name: str, sequence: int) -> str:
    return f"{series_name}-{sequence:06d}"
