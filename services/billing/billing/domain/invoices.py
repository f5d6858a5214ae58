"""Invoice states, free of I/O. Bill runs (a later issue) create invoices; here only what closing an account asks."""
from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    OVERDUE = "overdue"
    PAID = "paid"
    VOID = "void"


# An invoice the customer still owes money on.
UNPAID = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
