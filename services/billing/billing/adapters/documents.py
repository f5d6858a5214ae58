"""MongoDB documents of the billing service."""
from __future__ import annotations

from decimal import Decimal

import mongoengine as me

from billing.domain.bills import BillStatus
from billing.domain.hierarchy import GroupStatus
from billing.domain.invoices import InvoiceKind, InvoiceStatus
from billing.domain.lines import ItemKind
from billing.domain.profiles import DEFAULT_PAYMENT_TERMS_DAYS, Interval, PaymentType
from chassis.clock import utc_now


class BillingCustomer(me.Document):
    """Billing's own record of a customer, built from `customer.created` (never read from customer's database)."""

    meta = {"collection": "customers"}

    id = me.IntField(primary_key=True)
    name = me.StringField(required=True)
    email = me.StringField(required=True)
    country = me.StringField()  # picks the locale invoices are rendered in
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
    # Quarterly and yearly cycles turn in this month and every 3 / 12 months after it.
    anchor_month = me.IntField(min_value=1, max_value=12)
    payment_terms_days = me.IntField(min_value=0, max_value=365, default=DEFAULT_PAYMENT_TERMS_DAYS)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    # Money overpaid on earlier bills (the payments issue credits and consumes it).
    credit_balance = me.Decimal128Field(precision=6, default=lambda: Decimal(0))
    created_at = me.DateTimeField(required=True, default=utc_now)


class Bill(me.Document):
    """All charges of one cycle of one profile (TMF678 customer bill). Ids are sequential, as in the seed."""

    meta = {"collection": "bills",
            "indexes": [("billing_profile_id", "status"), ("status", "cycle_end"), "customer_id"]}

    id = me.IntField(primary_key=True)
    billing_profile_id = me.StringField(required=True)
    customer_id = me.IntField(required=True)
    status = me.EnumField(BillStatus, required=True)
    cycle_start = me.DateTimeField(required=True)
    cycle_end = me.DateTimeField(required=True)
    currency = me.StringField(required=True)
    # Running sum of the items' unrounded amounts (grows as charges arrive); the invoice has the exact totals.
    charged = me.Decimal128Field(precision=6, default=lambda: Decimal(0))
    items = me.IntField(default=0)
    invoice_id = me.StringField()
    billed_at = me.DateTimeField()
    # "bill now" moves the active bill's items to a new bill that goes to billing at once.
    bill_now = me.BooleanField(default=False)
    created_at = me.DateTimeField(required=True, default=utc_now)


class BillItem(me.Document):
    """One charge on a bill: rating's usage, an adjustment, a transferred member invoice. Never edited."""

    meta = {"collection": "bill_items", "indexes": [("bill_id", "created_at")]}

    id = me.StringField(primary_key=True)
    bill_id = me.IntField(required=True)
    billing_profile_id = me.StringField(required=True)
    kind = me.EnumField(ItemKind, required=True)
    description = me.StringField(required=True)
    amount = me.Decimal128Field(required=True, precision=6)
    currency = me.StringField(required=True)
    balance_group_id = me.StringField()
    resource = me.StringField()
    gl_code = me.StringField()
    tax_code = me.StringField()
    tax_supplier = me.StringField()
    service_id = me.StringField()
    service_identifier = me.StringField()
    units = me.Decimal128Field(precision=6)
    events = me.IntField(default=0)
    reference = me.StringField()  # the adjusted item, the member invoice, the rating usage id
    source_event = me.StringField()
    at = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)


class SubscriptionFees(me.Document):
    """Billing's copy of one subscription's product snapshots (decision 0010), for fees at bill time."""

    meta = {"collection": "subscription_fees", "indexes": ["billing_profile_id", "customer_id"]}

    id = me.StringField(primary_key=True)  # the subscription id
    customer_id = me.IntField(required=True)
    billing_profile_id = me.StringField()
    balance_group_id = me.StringField()
    plan_code = me.StringField()
    # [{"at": instant, "products": [...], "cancelled": bool, "event": id}] in event order of arrival
    history = me.ListField(me.DictField())
    one_time_billed = me.ListField(me.StringField())  # product ids already on an issued invoice


class Invoice(me.Document):
    """An issued invoice, credit note or debit note: frozen lines and amounts."""

    meta = {"collection": "invoices",
            "indexes": [("customer_id", "status"), ("customer_id", "issued_at"), "bill_id", "run_id",
                        {"fields": ["number"], "unique": True, "sparse": True}]}

    id = me.StringField(primary_key=True)
    kind = me.EnumField(InvoiceKind, default=InvoiceKind.INVOICE)
    number = me.StringField()
    series = me.StringField()
    customer_id = me.IntField(required=True, min_value=1)
    customer_name = me.StringField()
    locale = me.StringField()
    billing_profile_id = me.StringField(required=True)
    bill_id = me.IntField()
    status = me.EnumField(InvoiceStatus, required=True, default=InvoiceStatus.BILLING)
    lines = me.ListField(me.DictField())
    net_amount = me.Decimal128Field(precision=6)
    tax_amount = me.Decimal128Field(precision=6)
    total = me.Decimal128Field(required=True, precision=6)  # the invoice amount
    due_amount = me.Decimal128Field(precision=6)
    currency = me.StringField(required=True)
    period_start = me.DateTimeField()
    period_end = me.DateTimeField()
    due_date = me.DateTimeField()
    issued_at = me.DateTimeField()
    run_id = me.StringField()
    references = me.StringField()  # a credit/debit note's invoice
    reason = me.StringField()
    transferred_to = me.DictField()  # a hierarchy member's invoice: the owner's profile and bill that pay it
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


ALL_DOCUMENTS: list[type[me.Document]] = [BillingCustomer, BillingProfile, Bill, BillItem, SubscriptionFees, Invoice,
                                          HierarchyGroup, HierarchyMember]

# Payments keep their own documents (billing.adapters.payment_documents); they are created and indexed with these.
from billing.adapters.payment_documents import PAYMENT_DOCUMENTS  # noqa: E402

ALL_DOCUMENTS += PAYMENT_DOCUMENTS
