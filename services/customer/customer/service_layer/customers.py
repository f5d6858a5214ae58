"""Customer use cases. Each takes wire data, returns wire data, raises typed errors."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from chassis.clock import utc_now
from chassis.errors import NotFound, from_marshmallow
from chassis.mongo import UnitOfWork, transaction
from customer.adapters.documents import CustomerDocument
from customer.domain.model import CUSTOMER_SEQUENCE
from customer.schemas import CustomerCreateSchema, CustomerSchema

SOURCE = "customer"
_create = CustomerCreateSchema()
_out = CustomerSchema()


def create_customer(payload: dict[str, Any]) -> dict[str, Any]:
    try:
        data = _create.load(payload)
    except ValidationError as exc:
        raise from_marshmallow(exc) from exc

    def store(uow: UnitOfWork) -> dict[str, Any]:
        now = utc_now()
        customer = CustomerDocument(id=uow.next_sequence(CUSTOMER_SEQUENCE), created_at=now, updated_at=now, **data)
        uow.insert(customer)
        wire = _out.dump(customer)
        uow.publish("customer.created", {k: wire[k] for k in
                                          ("id", "firstName", "lastName", "email", "status", "createdAt")},
                    subject=str(customer.id))
        return wire

    return transaction(store, source=SOURCE)


def get_customer(customer_id: int) -> dict[str, Any]:
    customer = CustomerDocument.objects(id=customer_id).first()
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return _out.dump(customer)
