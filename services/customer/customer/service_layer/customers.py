"""Customer use cases. Each takes wire data, returns wire data, raises typed errors.

`services` is the caller of other services (`services.call(service, method, *args)`):
the worker passes its pooled RPC client. Everything is validated before anything is
written, so bad input changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any, Protocol

from marshmallow import Schema, ValidationError

from chassis.clock import utc_now
from chassis.discarded import record_discarded, refuse_discarded
from chassis.errors import Conflict, NotFound, ValidationFailed, from_marshmallow
from chassis.merge_patch import apply_merge_patch
from chassis.mongo import UnitOfWork, transaction
from customer.adapters.documents import Address, Contact, CreditCard, CustomerDocument, DirectDebit, PaymentInfo
from customer.domain import model
from customer.domain.model import CUSTOMER_SEQUENCE, CustomerStatus
from customer.schemas import (
    AccountPatchSchema,
    ContactOut,
    ContactSchema,
    CustomerCreateSchema,
    CustomerOut,
    PaymentInfoSchema,
    payment_info_out,
)

SOURCE = "customer"
REQUEST_KIND = "customer-request"  # discarded request ids, see discard_customer_request
_out = CustomerOut()
_contact_out = ContactOut()


class Services(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


def _load(schema: Schema, payload: Any, prefix: str = "", partial: bool = False) -> dict[str, Any]:
    model.refuse_card_numbers(payload, prefix)
    if not isinstance(payload, dict):
        raise ValidationFailed("Expected an object", {prefix or "_schema": "must be an object"})
    try:
        return schema.load(payload, partial=partial)
    except ValidationError as exc:
        raise from_marshmallow(exc, prefix) from exc


def _check_catalog(services: Services, customer_type: str | None, attributes: dict[str, Any] | None) -> dict[str, Any]:
    """Ask the catalog whether the type exists and the attribute values are valid;
    returns the normalised attribute values. Both checks run so every bad field is named."""
    errors: dict[str, Any] = {}
    normalised: dict[str, Any] = {}
    if customer_type is not None:
        try:
            services.call("catalog", "get_customer_type", customer_type)
        except NotFound:
            errors["customerType"] = f"unknown customer type {customer_type!r}"
    if attributes:
        try:
            normalised = services.call("catalog", "validate_custom_attributes", "customer", attributes)
        except ValidationFailed as exc:
            errors.update(exc.fields or {"customAttributes": exc.detail})
    if errors:
        raise ValidationFailed(f"Invalid value for: {', '.join(sorted(errors))}", errors)
    return normalised


def _raw(customer_id: int, uow: UnitOfWork | None = None) -> dict[str, Any]:
    collection = uow.collection(CustomerDocument) if uow else CustomerDocument._get_collection()
    raw = collection.find_one({"_id": customer_id}, session=uow.session if uow else None)
    if raw is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return raw


def _primary_copies(contacts: list[dict[str, Any]]) -> dict[str, Any]:
    primary = contacts[0]
    return {"first_name": primary["first_name"], "last_name": primary["last_name"], "email": primary["email"],
            "country": primary["country"], **model.search_fields(primary)}


def _contact_son(data: dict[str, Any]) -> dict[str, Any]:
    return dict(Contact(**data).to_mongo())


def _payment_info_doc(data: dict[str, Any]) -> PaymentInfo:
    direct_debit = data.get("direct_debit")
    if direct_debit:
        signed = datetime.combine(direct_debit["signed_on"], time(0), tzinfo=UTC)
        direct_debit = DirectDebit(**{**direct_debit, "signed_on": signed})
    card = data.get("credit_card")
    address = data.get("billing_address")
    return PaymentInfo(method=data["method"], credit_card=CreditCard(**card) if card else None,
                       direct_debit=direct_debit, billing_address=Address(**address) if address else None,
                       tax_id=data.get("tax_id"))


def _updated_event(uow: UnitOfWork, raw: dict[str, Any], changed: list[str]) -> None:
    uow.publish("customer.updated", {
        "id": raw["_id"], "firstName": raw["first_name"], "lastName": raw["last_name"], "email": raw["email"],
        "country": raw["country"], "customerType": raw["customer_type"], "status": raw["status"],
        "paymentMethod": raw.get("payment_method"), "changed": changed,
        "updatedAt": raw["updated_at"].isoformat(),
    }, subject=str(raw["_id"]))


# -- create, read, discard ----------------------------------------------------------------

def load_account(payload: Any) -> dict[str, Any]:
    """Validate a new account's wire data (no catalog check): the loaded, snake_case values."""
    return _load(CustomerCreateSchema(), payload)


def new_customer_document(customer_id: int, data: dict[str, Any], attributes: dict[str, Any],
                          now: datetime) -> CustomerDocument:
    """The document of a new account from `load_account` data (also used to seed benchmarks)."""
    contact = {key: data[key] for key in ContactSchema().fields if key in data}
    payment = data.get("payment_info")
    return CustomerDocument(
        id=customer_id, customer_type=data["customer_type"], custom_attributes=attributes,
        contacts=[Contact(**contact)], payment_info=_payment_info_doc(payment) if payment else None,
        payment_method=payment["method"] if payment else None, created_at=now, updated_at=now,
        **_primary_copies([contact]),
    )


def create_customer(payload: dict[str, Any], services: Services, request_id: str | None = None) -> dict[str, Any]:
    """Create an account. With a caller's `request_id` (a saga's id) a repeated call returns the customer
    the first one made, and a request already discarded by `discard_customer_request` is refused."""
    data = load_account(payload)
    attributes = _check_catalog(services, data["customer_type"], data["custom_attributes"])

    def store(uow: UnitOfWork) -> dict[str, Any]:
        if request_id is not None:
            existing = _existing_request(uow, request_id)
            if existing is not None:
                return _out.dump(existing)
        customer = new_customer_document(uow.next_sequence(CUSTOMER_SEQUENCE), data, attributes, utc_now())
        customer.request_id = request_id
        uow.insert(customer)
        wire = _out.dump(customer.to_mongo().to_dict())
        uow.publish("customer.created", {k: wire[k] for k in (
            "id", "firstName", "lastName", "email", "status", "createdAt", "customerType", "country")},
            subject=str(customer.id))
        return wire

    return transaction(store, source=SOURCE)


def get_customer(customer_id: int) -> dict[str, Any]:
    return _out.dump(_raw(customer_id))


def discard_customer(customer_id: int, reason: str) -> dict[str, Any]:
    """Saga compensation: remove a customer created moments ago. Idempotent."""
    return transaction(lambda uow: _purge(uow, {"_id": customer_id}, customer_id, reason), source=SOURCE)


def discard_customer_request(request_id: str, reason: str) -> dict[str, Any]:
    """Saga compensation when the caller may not know the id (its reply was lost): remove whatever
    `create_customer(..., request_id)` made, and refuse that request from now on, so a create still
    queued behind a stopped worker cannot bring the customer back. Idempotent."""

    def run(uow: UnitOfWork) -> dict[str, Any]:
        record_discarded(uow, REQUEST_KIND, request_id)
        raw = uow.collection(CustomerDocument).find_one({"request_id": request_id}, {"_id": 1}, session=uow.session)
        if raw is None:
            return {"id": None, "purged": False}
        return _purge(uow, {"_id": raw["_id"]}, raw["_id"], reason)

    return transaction(run, source=SOURCE)


def _existing_request(uow: UnitOfWork, request_id: str) -> dict[str, Any] | None:
    refuse_discarded(uow, REQUEST_KIND, request_id)
    return uow.collection(CustomerDocument).find_one({"request_id": request_id}, session=uow.session)


def _purge(uow: UnitOfWork, query: dict[str, Any], customer_id: int, reason: str) -> dict[str, Any]:
    deleted = uow.collection(CustomerDocument).delete_one(query, session=uow.session).deleted_count
    if deleted:
        uow.publish("customer.purged", {"id": customer_id, "reason": reason, "purgedAt": utc_now().isoformat()},
                    subject=str(customer_id))
    return {"id": customer_id, "purged": bool(deleted)}


# -- account information ---------------------------------------------------------------

def update_account(customer_id: int, patch: dict[str, Any], services: Services) -> dict[str, Any]:
    """A merge-patch (RFC 7396) of the account: `customAttributes` merges key by key, `null` removes one."""
    data = _load(AccountPatchSchema(), patch)
    if not data:
        raise ValidationFailed("Nothing to change: send customerType and/or customAttributes",
                               {"_schema": "customerType or customAttributes required"})
    raw = _raw(customer_id)
    model.ensure_open(raw["status"], customer_id)
    base = raw.get("custom_attributes") or {}
    merged = (apply_merge_patch(base, data["custom_attributes"]) or {}) if "custom_attributes" in data else None
    attributes = _check_catalog(services, data.get("customer_type"), merged)
    changes: dict[str, Any] = {}
    if "customer_type" in data:
        changes["customer_type"] = data["customer_type"]
    if merged is not None:
        changes["custom_attributes"] = attributes

    def compute(current: dict[str, Any]) -> dict[str, Any]:
        if merged is not None and (current.get("custom_attributes") or {}) != base:
            raise Conflict(f"customer {customer_id} was changed meanwhile; read it again and retry")
        return changes

    return _change(customer_id, compute, [
        {"customer_type": "customerType", "custom_attributes": "customAttributes"}[k] for k in changes])


def _change(customer_id: int, compute: Callable[[dict[str, Any]], dict[str, Any]],
            changed: list[str]) -> dict[str, Any]:
    """Read, compute the `$set`, write and publish `customer.updated`, in one transaction."""

    def run(uow: UnitOfWork) -> dict[str, Any]:
        raw = _raw(customer_id, uow)
        model.ensure_open(raw["status"], customer_id)
        changes = {**compute(raw), "updated_at": utc_now()}
        uow.collection(CustomerDocument).update_one({"_id": customer_id}, {"$set": changes}, session=uow.session)
        raw.update(changes)
        _updated_event(uow, raw, changed)
        return _out.dump(raw)

    return transaction(run, source=SOURCE)


# -- contacts -----------------------------------------------------------------------------

def list_contacts(customer_id: int) -> list[dict[str, Any]]:
    return _contact_out.dump(_raw(customer_id)["contacts"], many=True)


def add_contact(customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    contact = _contact_son(_load(ContactSchema(), payload))

    def compute(raw: dict[str, Any]) -> dict[str, Any]:
        contacts = model.add_contact(raw["contacts"], contact)
        return {"contacts": contacts, **_primary_copies(contacts)}

    _change(customer_id, compute, ["contacts"])
    return _contact_out.dump(contact)


def update_contact(customer_id: int, tag: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = _load(ContactSchema(), payload, partial=True)
    result: dict[str, Any] = {}

    def compute(raw: dict[str, Any]) -> dict[str, Any]:
        contacts = model.edit_contact(raw["contacts"], tag, data)
        contacts = [_contact_son(c) for c in contacts]
        result["contact"] = next(c for c in contacts if c["tag"] == data.get("tag", tag))
        return {"contacts": contacts, **_primary_copies(contacts)}

    _change(customer_id, compute, ["contacts"])
    return _contact_out.dump(result["contact"])


def delete_contact(customer_id: int, tag: str) -> dict[str, Any]:
    def compute(raw: dict[str, Any]) -> dict[str, Any]:
        contacts = model.delete_contact(raw["contacts"], tag)
        return {"contacts": contacts, **_primary_copies(contacts)}

    return _change(customer_id, compute, ["contacts"])


# -- payment information -----------------------------------------------------------------

def get_payment_info(customer_id: int) -> dict[str, Any]:
    info = payment_info_out(_raw(customer_id))
    if info is None:
        raise NotFound(f"customer {customer_id} has no payment information yet")
    return info


def set_payment_info(customer_id: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    data = _load(PaymentInfoSchema(), payload)
    info = _payment_info_doc(data)
    info.validate()
    customer = _change(customer_id, lambda raw: {"payment_info": info.to_mongo().to_dict(),
                                                 "payment_method": data["method"].value}, ["paymentInfo"])
    return customer["paymentInfo"]


# -- closing and purging -----------------------------------------------------------------

def close_customer(customer_id: int, services: Services, retention_days: int) -> dict[str, Any]:
    model.ensure_open(_raw(customer_id)["status"], customer_id)
    unpaid = int(services.call("billing", "count_unpaid_invoices", customer_id))
    if unpaid:
        raise Conflict(f"customer {customer_id} has {unpaid} unpaid invoice(s); "
                       "they must be paid or settled before the account can be closed",
                       {"unpaidInvoices": str(unpaid)})

    def run(uow: UnitOfWork) -> dict[str, Any]:
        raw = _raw(customer_id, uow)
        model.ensure_open(raw["status"], customer_id)
        now = utc_now()
        changes = {"status": CustomerStatus.CLOSED.value, "closed_at": now,
                   "purge_after": model.purge_after(now, retention_days), "updated_at": now}
        uow.collection(CustomerDocument).update_one({"_id": customer_id}, {"$set": changes}, session=uow.session)
        raw.update(changes)
        uow.publish("customer.closed", {"id": customer_id, "closedAt": now.isoformat(),
                                        "purgeAfter": changes["purge_after"].isoformat()}, subject=str(customer_id))
        return _out.dump(raw)

    return transaction(run, source=SOURCE)


def purge_closed_accounts(now: datetime | None = None, batch: int = 500) -> int:
    """Delete accounts whose retention has passed, one transaction (and one
    `customer.purged`) each, so a crash part-way loses nothing. Returns how many."""
    now = now or utc_now()
    due = {"status": CustomerStatus.CLOSED.value, "purge_after": {"$lte": now}}
    purged = 0
    while True:
        ids = [raw["_id"] for raw in CustomerDocument._get_collection().find(due, {"_id": 1}).limit(batch)]
        if not ids:
            return purged
        for customer_id in ids:
            result = transaction(lambda uow, cid=customer_id: _purge(uow, {**due, "_id": cid}, cid, "retention"),
                                 source=SOURCE)
            purged += int(result["purged"])

