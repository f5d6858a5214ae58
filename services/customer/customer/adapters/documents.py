"""MongoDB documents of the customer service."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from customer.domain.model import CustomerStatus


class CustomerDocument(me.Document):
    meta = {"collection": "customers", "indexes": ["email", "status"]}

    id = me.IntField(primary_key=True)
    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.EmailField(required=True, max_length=254)
    status = me.EnumField(CustomerStatus, default=CustomerStatus.ACTIVE, required=True)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


ALL_DOCUMENTS: list[type[me.Document]] = [CustomerDocument]
