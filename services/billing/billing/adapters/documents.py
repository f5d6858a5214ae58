"""MongoDB documents of the billing service."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now


class BillingCustomer(me.Document):
    """Billing's own record of a customer, built from `customer.created` (never read from customer's database)."""

    meta = {"collection": "customers"}

    id = me.IntField(primary_key=True)
    name = me.StringField(required=True)
    email = me.StringField(required=True)
    source_event = me.StringField(required=True)
    recorded_at = me.DateTimeField(required=True, default=utc_now)


ALL_DOCUMENTS: list[type[me.Document]] = [BillingCustomer]
