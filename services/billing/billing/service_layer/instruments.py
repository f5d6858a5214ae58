"""Billing's copy of customers' payment information (card token, SEPA mandate).

The customer service owns payment information; its events only say that it changed, so billing
asks for the current value and keeps a copy that collection and SEPA export read in bulk.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from billing.adapters.documents import BillingCustomer
from billing.adapters.payment_documents import PaymentInstrument
from billing.domain.sepa import Mandate
from chassis.clock import utc_now
from chassis.mongo import UnitOfWork, transaction

SOURCE = "billing"


def instrument_fields(info: dict[str, Any] | None) -> dict[str, Any]:
    """The stored fields for a customer's payment information as the customer service returns it."""
    if not info:
        return {"method": "invoice"}
    card, debit = info.get("creditCard") or {}, info.get("directDebit") or {}
    signed_on = date.fromisoformat(debit["signedOn"]) if debit.get("signedOn") else None
    return {"method": info.get("method", "invoice"), "holder_name": card.get("holderName"),
            "token": card.get("token"), "mandate_id": debit.get("mandateId"),
            "signed_on": datetime.combine(signed_on, time(), tzinfo=UTC) if signed_on else None,
            "iban": debit.get("iban"), "bic": debit.get("bic")}


def store_instrument(customer_id: int, info: dict[str, Any] | None, fetched_at: datetime | None = None) -> None:
    """Keep what was fetched at `fetched_at`, unless a newer fetch was stored meanwhile (handlers of
    two quick changes may finish in either order)."""
    fetched_at = fetched_at or utc_now()

    def store(uow: UnitOfWork) -> None:
        current = uow.find_one(PaymentInstrument, {"_id": customer_id})
        if current is not None and current.refreshed_at >= fetched_at:
            return
        customer = uow.find_one(BillingCustomer, {"_id": customer_id})
        doc = PaymentInstrument(id=customer_id, refreshed_at=fetched_at,
                                debtor_name=customer.name if customer else None, **instrument_fields(info))
        doc.validate()
        uow.collection(PaymentInstrument).replace_one({"_id": customer_id}, doc.to_mongo(), upsert=True,
                                                      session=uow.session)

    transaction(store, source=SOURCE)


def refresh(customer_id: int, fetch: Any) -> None:
    """Fetch the customer's payment information (`fetch(customer_id)`, None when there is none) and store it."""
    fetched_at = utc_now()
    store_instrument(customer_id, fetch(customer_id), fetched_at)


def record_created(created: dict[str, Any], fetch: Any) -> None:
    """`customer.created`: an account paying by invoice, or without payment information yet, has no details to
    copy, and the event says so (`paymentMethod`, decision 0406): it is stored as of the account's creation
    (a change fetched later wins) without asking the customer service. A card or a mandate is fetched, and so
    is everything for an event from before `paymentMethod`."""
    if "paymentMethod" in created and created["paymentMethod"] in (None, "invoice"):
        as_of = datetime.fromisoformat(str(created["createdAt"]).replace("Z", "+00:00"))
        store_instrument(created["id"], None, as_of)
        return
    refresh(created["id"], fetch)


def mandate_of(instrument: dict[str, Any]) -> Mandate | None:
    if not instrument.get("mandate_id"):
        return None
    signed = instrument.get("signed_on")
    return Mandate(mandate_id=instrument["mandate_id"], signed_on=signed.date() if signed else date.max,
                   iban=instrument.get("iban") or "", bic=instrument.get("bic"),
                   debtor_name=instrument.get("debtor_name") or f"Customer {instrument['_id']}")
