"""Contacts and payment information as stored: the embedded documents' shapes and field checks, used
without any I/O so the use cases (and their in-memory fakes) build exactly what MongoDB stores."""
from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from customer.adapters.documents import Address, Contact, CreditCard, DirectDebit, PaymentInfo


def contact_record(data: dict[str, Any]) -> dict[str, Any]:
    """A contact as stored (the embedded document's shape, validated)."""
    return dict(Contact(**data).to_mongo())


def payment_info_record(data: dict[str, Any]) -> dict[str, Any]:
    """Payment information as stored, validated; the mandate's signing date becomes a UTC instant."""
    direct_debit = data.get("direct_debit")
    if direct_debit:
        signed = datetime.combine(direct_debit["signed_on"], time(0), tzinfo=UTC)
        direct_debit = DirectDebit(**{**direct_debit, "signed_on": signed})
    card = data.get("credit_card")
    address = data.get("billing_address")
    info = PaymentInfo(method=data["method"], credit_card=CreditCard(**card) if card else None,
                       direct_debit=direct_debit, billing_address=Address(**address) if address else None,
                       tax_id=data.get("tax_id"))
    info.validate()
    return info.to_mongo().to_dict()
