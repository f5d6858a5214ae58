"""Customer use cases. Each takes wire data, returns wire data, raises typed errors.

Every use case receives `uow: Transactions` (service_layer/unit_of_work.py): the MongoDB implementation in
production (customer.bootstrap), in-memory fakes in the unit tests. `services` is the caller of other
services (`services.call(service, method, *args)`): the worker passes its pooled RPC client. Everything
is validated before anything is written, so bad input changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from marshmallow import Schema, ValidationError

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, ValidationFailed, from_marshmallow
from chassis.jobs import LEASE_SECONDS, JobRun, JobStore, resume_jobs, run_job
from chassis.merge_patch import apply_merge_patch
from customer.adapters.records import contact_record, payment_info_record
from customer.domain import model
from customer.domain.model import CustomerStatus
from customer.schemas import (
    AccountPatchSchema,
    ContactOut,
    ContactPatchSchema,
    ContactSchema,
    CustomerCreateSchema,
    CustomerOut,
    PaymentInfoSchema,
    payment_info_out,
)
from customer.service_layer.unit_of_work import Record, Transactions, UnitOfWork

SOURCE = "customer"
REQUEST_KIND = "customer-request"  # discarded request ids, see discard_customer_request
_out = CustomerOut()
_contact_out = ContactOut()


class Services(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


def _load(schema: Schema, payload: Any, prefix: str = "") -> dict[str, Any]:
    model.refuse_card_numbers(payload, prefix)
    if not isinstance(payload, dict):
        raise ValidationFailed("Expected an object", {prefix or "_schema": "must be an object"})
    try:
        return schema.load(payload)
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


def _existing(customers: Any, customer_id: int) -> Record:
    raw = customers.get(customer_id)
    if raw is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return raw


def _primary_copies(contacts: list[dict[str, Any]]) -> dict[str, Any]:
    primary = contacts[0]
    return {"first_name": primary["first_name"], "last_name": primary["last_name"], "email": primary["email"],
            "country": primary["country"], **model.search_fields(primary)}


def _updated_event(uow: UnitOfWork, raw: Record, changed: list[str]) -> None:
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


def new_customer_record(customer_id: int, data: dict[str, Any], attributes: dict[str, Any], now: datetime,
                        request_id: str | None = None) -> Record:
    """The stored record of a new account from `load_account` data (also used to seed benchmarks)."""
    contact = contact_record({key: data[key] for key in ContactSchema().fields if key in data})
    payment = data.get("payment_info")
    return {"_id": customer_id, "request_id": request_id, "customer_type": data["customer_type"],
            "custom_attributes": attributes, "status": CustomerStatus.ACTIVE.value, "contacts": [contact],
            "payment_info": payment_info_record(payment) if payment else None,
            "payment_method": payment["method"].value if payment else None,
            "subscription_count": 0, "service_count": 0, "created_at": now, "updated_at": now,
            **_primary_copies([contact])}


def create_customer(uow: Transactions, payload: dict[str, Any], services: Services,
                    request_id: str | None = None) -> dict[str, Any]:
    """Create an account. With a caller's `request_id` (a saga's id) a repeated call returns the customer
    the first one made, and a request already discarded by `discard_customer_request` is refused."""
    data = load_account(payload)
    attributes = _check_catalog(services, data["customer_type"], data["custom_attributes"])

    def store(tx: UnitOfWork) -> dict[str, Any]:
        if request_id is not None:
            tx.refuse_discarded(REQUEST_KIND, request_id)
            existing = tx.customers.by_request(request_id)
            if existing is not None:
                return _out.dump(existing)
        record = new_customer_record(tx.next_customer_id(), data, attributes, utc_now(), request_id)
        tx.customers.add(record)
        wire = _out.dump(record)
        # The payment method, so a consumer asks for payment details only when there are any (decision 0406).
        tx.publish("customer.created", {**{k: wire[k] for k in (
            "id", "firstName", "lastName", "email", "status", "createdAt", "customerType", "country")},
            "paymentMethod": record["payment_method"]}, subject=str(record["_id"]))
        return wire

    return uow.run(store)


def get_customer(uow: Transactions, customer_id: int) -> dict[str, Any]:
    return _out.dump(_existing(uow.reader(), customer_id))


def discard_customer(uow: Transactions, customer_id: int, reason: str) -> dict[str, Any]:
    """Saga compensation: remove a customer created moments ago. Idempotent."""
    return uow.run(lambda tx: _purge(tx, customer_id, reason))


def discard_customer_request(uow: Transactions, request_id: str, reason: str) -> dict[str, Any]:
    """Saga compensation when the caller may not know the id (its reply was lost): remove whatever
    `create_customer(..., request_id)` made, and refuse that request from now on, so a create still
    queued behind a stopped worker cannot bring the customer back. Idempotent."""

    def run(tx: UnitOfWork) -> dict[str, Any]:
        tx.record_discarded(REQUEST_KIND, request_id)
        raw = tx.customers.by_request(request_id)
        if raw is None:
            return {"id": None, "purged": False}
        return _purge(tx, raw["_id"], reason)

    return uow.run(run)


def _purge(tx: UnitOfWork, customer_id: int, reason: str, due_by: datetime | None = None) -> dict[str, Any]:
    deleted = tx.customers.delete(customer_id, due_by)
    if deleted:
        tx.publish("customer.purged", {"id": customer_id, "reason": reason, "purgedAt": utc_now().isoformat()},
                   subject=str(customer_id))
    return {"id": customer_id, "purged": deleted}


# -- account information ---------------------------------------------------------------

def update_account(uow: Transactions, customer_id: int, patch: dict[str, Any], services: Services) -> dict[str, Any]:
    """A merge-patch (RFC 7396) of the account: `customAttributes` merges key by key, `null` removes one."""
    data = _load(AccountPatchSchema(), patch)
    if not data:
        raise ValidationFailed("Nothing to change: send customerType and/or customAttributes",
                               {"_schema": "customerType or customAttributes required"})
    raw = _existing(uow.reader(), customer_id)
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

    return _change(uow, customer_id, compute, [
        {"customer_type": "customerType", "custom_attributes": "customAttributes"}[k] for k in changes])


def _change(uow: Transactions, customer_id: int, compute: Callable[[Record], Record],
            changed: list[str]) -> dict[str, Any]:
    """Read, compute the changes, write and publish `customer.updated`, in one transaction."""

    def run(tx: UnitOfWork) -> dict[str, Any]:
        raw = _existing(tx.customers, customer_id)
        model.ensure_open(raw["status"], customer_id)
        changes = {**compute(raw), "updated_at": utc_now()}
        tx.customers.update(customer_id, changes)
        raw.update(changes)
        _updated_event(tx, raw, changed)
        return _out.dump(raw)

    return uow.run(run)


# -- contacts -----------------------------------------------------------------------------

def list_contacts(uow: Transactions, customer_id: int) -> list[dict[str, Any]]:
    return _contact_out.dump(_existing(uow.reader(), customer_id)["contacts"], many=True)


def add_contact(uow: Transactions, customer_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    contact = contact_record(_load(ContactSchema(), payload))

    def compute(raw: Record) -> Record:
        contacts = model.add_contact(raw["contacts"], contact)
        return {"contacts": contacts, **_primary_copies(contacts)}

    _change(uow, customer_id, compute, ["contacts"])
    return _contact_out.dump(contact)


def update_contact(uow: Transactions, customer_id: int, tag: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = _load(ContactPatchSchema(), payload)
    result: dict[str, Any] = {}

    def compute(raw: Record) -> Record:
        contacts = [contact_record(c) for c in model.edit_contact(raw["contacts"], tag, data)]
        result["contact"] = next(c for c in contacts if c["tag"] == data.get("tag", tag))
        return {"contacts": contacts, **_primary_copies(contacts)}

    _change(uow, customer_id, compute, ["contacts"])
    return _contact_out.dump(result["contact"])


def delete_contact(uow: Transactions, customer_id: int, tag: str) -> dict[str, Any]:
    def compute(raw: Record) -> Record:
        contacts = model.delete_contact(raw["contacts"], tag)
        return {"contacts": contacts, **_primary_copies(contacts)}

    return _change(uow, customer_id, compute, ["contacts"])


# -- payment information -----------------------------------------------------------------

def get_payment_info(uow: Transactions, customer_id: int) -> dict[str, Any]:
    info = payment_info_out(_existing(uow.reader(), customer_id))
    if info is None:
        raise NotFound(f"customer {customer_id} has no payment information yet")
    return info


def set_payment_info(uow: Transactions, customer_id: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    data = _load(PaymentInfoSchema(), payload)
    info = payment_info_record(data)
    customer = _change(uow, customer_id, lambda raw: {"payment_info": info, "payment_method": data["method"].value},
                       ["paymentInfo"])
    return customer["paymentInfo"]


# -- closing and purging -----------------------------------------------------------------

def close_customer(uow: Transactions, customer_id: int, services: Services, retention_days: int) -> dict[str, Any]:
    model.ensure_open(_existing(uow.reader(), customer_id)["status"], customer_id)
    unpaid = int(services.call("billing", "count_unpaid_invoices", customer_id))
    if unpaid:
        raise Conflict(f"customer {customer_id} has {unpaid} unpaid invoice(s); "
                       "they must be paid or settled before the account can be closed",
                       {"unpaidInvoices": str(unpaid)})

    def run(tx: UnitOfWork) -> dict[str, Any]:
        raw = _existing(tx.customers, customer_id)
        model.ensure_open(raw["status"], customer_id)
        now = utc_now()
        changes: Record = {"status": CustomerStatus.CLOSED.value, "closed_at": now,
                           "purge_after": model.purge_after(now, retention_days), "updated_at": now}
        tx.customers.update(customer_id, changes)
        raw.update(changes)
        tx.publish("customer.closed", {"id": customer_id, "closedAt": now.isoformat(),
                                       "purgeAfter": changes["purge_after"].isoformat()}, subject=str(customer_id))
        return _out.dump(raw)

    return uow.run(run)


PURGE_JOB = "purge-closed-accounts"


def purge_closed_accounts(uow: Transactions, now: datetime | None = None, job_id: str | None = None,
                          lease_seconds: float = LEASE_SECONDS) -> dict[str, Any]:
    """Delete accounts whose retention has passed, as a resumable job (chassis.jobs): one step (one
    transaction, one `customer.purged`) per account, so a crash part-way loses nothing and the next run
    finishes it. First resumes purge jobs a crashed run left, then purges as of `now`. Returns the job;
    with the `job_id` of a finished job, that job unchanged."""
    steps = _purge_due(uow)
    resume_jobs(SOURCE, {PURGE_JOB: steps}, store=JobStore(SOURCE, lease_seconds=lease_seconds))
    as_of = now or utc_now()
    return run_job(SOURCE, PURGE_JOB, {"asOf": as_of.isoformat()}, steps, job_id=job_id,
                   store=JobStore(SOURCE, lease_seconds=lease_seconds))


def _purge_due(uow: Transactions) -> Callable[[JobRun], dict[str, Any]]:
    def steps(run: JobRun) -> dict[str, Any]:
        as_of = datetime.fromisoformat(run.params["asOf"])
        ids = uow.reader().due_for_purge(as_of)
        if run.progress["total"] is None:
            run.set_total(len(ids))
        for customer_id in ids:
            run.step(str(customer_id), _purge_step(uow, customer_id, as_of))
        return {"purged": sum(1 for result in run.results() if result and result.get("purged"))}

    return steps


def _purge_step(uow: Transactions, customer_id: int, as_of: datetime) -> Callable[[Any], dict[str, Any]]:
    """The job step that purges one account whose retention ended by `as_of`, in the step's transaction."""
    return lambda job_uow: _purge(uow.within(job_uow), customer_id, "retention", as_of)
