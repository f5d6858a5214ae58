"""MongoDB documents of the billing service."""
from __future__ import annotations

import mongoengine as me

from billing.domain.hierarchy import GroupStatus
from billing.domain.invoices import InvoiceStatus
from billing.domain.profiles import Interval, PaymentType
from chassis.clock import utc_now


class BillingCustomer(me.Document):
    """Billing's own record of a customer, built from `customer.created` (never read from customer's database)."""

    meta = {"collection": "customers"}

    id = me.IntField(primary_key=True)
    name = me.StringField(required=True)
    email = me.StringField(required=True)
    source_event = me.StringField(required=True)
    recorded_at = me.DateTimeField(required=True, default=utc_now)


class BillingProfile(me.Document):
    """How and when a customer is billed (TMF666 billing account)."""

    meta = {"collection": "billing_profiles", "indexes": ["customer_id"]}

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True, min_value=1)
    name = me.StringField(required=True, max_length=100)
    payment_type = me.EnumField(PaymentType, required=True)
    resource = me.StringField(required=True, max_length=32)
    interval = me.EnumField(Interval, required=True)
    billing_day = me.IntField(required=True, min_value=1, max_value=31)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)


class Invoice(me.Document):
    """Invoices are produced by bill runs (a later issue); account closing already counts the unpaid ones."""

    meta = {"collection": "invoices", "indexes": [("customer_id", "status")]}

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True, min_value=1)
    billing_profile_id = me.StringField(required=True)
    number = me.StringField()
    status = me.EnumField(InvoiceStatus, required=True, default=InvoiceStatus.DRAFT)
    total = me.Decimal128Field(required=True, precision=6)
    currency = me.StringField(required=True)
    issued_at = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)


class HierarchyGroup(me.Document):
    """Owner side of a hierarchy: members' invoices are transferred to `billing_profile_id` at billing time."""

    meta = {"collection": "hierarchy_groups", "indexes": ["owner_customer_id"]}

    id = me.StringField(primary_key=True)
    name = me.StringField(required=True, max_length=100)
    owner_customer_id = me.IntField(required=True, min_value=1)
    billing_profile_id = me.StringField(required=True)
    status = me.EnumField(GroupStatus, required=True, default=GroupStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)


class HierarchyMember(me.Document):
    meta = {
        "collection": "hierarchy_members",
        # A customer belongs to at most one hierarchy: its invoices can go to one payer only.
        "indexes": [{"fields": ["customer_id"], "unique": True}, "group_id"],
    }

    id = me.StringField(primary_key=True)
    group_id = me.StringField(required=True)
    customer_id = me.IntField(required=True, min_value=1)
    status = me.EnumField(GroupStatus, required=True, default=GroupStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    joined_at = me.DateTimeField(required=True, default=utc_now)


ALL_DOCUMENTS: list[type[me.Document]] = [BillingCustomer, BillingProfile, Invoice, HierarchyGroup, HierarchyMember]

# Payments keep their own documents (billing.adapters.payment_documents); they are created and indexed with these.
from billing.adapters.payment_documents import PAYMENT_DOCUMENTS  # noqa: E402

ALL_DOCUMENTS += PAYMENT_DOCUMENTS
