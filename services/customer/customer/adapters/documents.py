"""MongoDB documents of the customer service."""
from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me

from customer.domain.model import CustomerStatus


def _now() -> datetime:
    return datetime.now(UTC)


class CustomerDocument(me.Document):
    meta = {"collection": "customers", "indexes": ["email", "status"]}

    id = me.IntField(primary_key=True)
    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.EmailField(required=True, max_length=254)
    status = me.EnumField(CustomerStatus, default=CustomerStatus.ACTIVE, required=True)
    created_at = me.DateTimeField(required=True, default=_now)
    updated_at = me.DateTimeField(required=True, default=_now)


ALL_DOCUMENTS: list[type[me.Document]] = [CustomerDocument]
