"""Invoice queries other services need now; bill runs (a later issue) fill the collection."""
from __future__ import annotations

from billing.adapters.documents import Invoice
from billing.domain.invoices import UNPAID


def count_unpaid_invoices(customer_id: int) -> int:
    return Invoice.objects(customer_id=customer_id, status__in=list(UNPAID)).count()
