"""MongoDB documents of the rating service."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from rating.domain.balances import ValidityKind
from rating.domain.model import GroupStatus, ProductStatus, ProductType, ServiceStatus, SubscriptionStatus


class BalanceGroup(me.Document):
    """Holds a customer's balances; a subscription's charges impact only its balance group."""

    meta = {"collection": "balance_groups", "indexes": ["customer_id"]}

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True, min_value=1)
    name = me.StringField(required=True, max_length=100)
    billing_profile_id = me.StringField(required=True)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)
    # The catalog credit profile whose thresholds rating watches (rating.service_layer.thresholds).
    credit_profile = me.StringField()


class PurchasedProduct(me.EmbeddedDocument):
    """The catalog product as it was bought: later catalog versions never change a running subscription.
    Carries what billing needs for its fees (decision 0010's snapshot)."""

    id = me.StringField(required=True)
    # No bundle for a coupon's discount product; `promo_code` names the coupon or voucher a product came from.
    bundle_code = me.StringField()
    bundle_version = me.IntField()
    promo_code = me.StringField()
    code = me.StringField(required=True)
    version = me.IntField(required=True)
    name = me.StringField(required=True)
    type = me.EnumField(ProductType, required=True)
    service_type = me.StringField()
    quantity = me.Decimal128Field(required=True, precision=6)
    value = me.Decimal128Field(precision=6)
    validity_unit = me.StringField()
    validity_count = me.IntField()
    purchased = me.BooleanField(required=True)
    resource = me.StringField()
    free_units = me.Decimal128Field(precision=6)
    service_id = me.StringField()
    optional = me.BooleanField(default=False)
    origin = me.StringField(required=True, choices=("plan", "promotion", "addon", "voucher"))
    currency = me.StringField()
    interval = me.DictField()
    proration = me.StringField()
    tax = me.StringField()
    gl_code = me.StringField()
    discount = me.DictField()
    status = me.EnumField(ProductStatus, required=True, default=ProductStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    added_at = me.DateTimeField(required=True)
    cancelled_at = me.DateTimeField()


class Subscription(me.Document):
    meta = {"collection": "subscriptions", "indexes": ["customer_id", "balance_group_id"]}

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True, min_value=1)
    balance_group_id = me.StringField(required=True)
    billing_profile_id = me.StringField(required=True)
    plan_code = me.StringField(required=True)
    plan_version = me.IntField(required=True)
    plan_name = me.StringField(required=True)
    # The billing profile's payment type at purchase: what rating charges by until billing announces the
    # profile's cycle (whose payment type then decides; rating_batch._resolve).
    payment_type = me.StringField(choices=("prepaid", "postpaid"))
    products = me.EmbeddedDocumentListField(PurchasedProduct)
    promo_codes = me.ListField(me.StringField())
    status = me.EnumField(SubscriptionStatus, required=True, default=SubscriptionStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    created_at = me.DateTimeField(required=True, default=utc_now)
    changed_at = me.DateTimeField()
    cancelled_at = me.DateTimeField()
    cancel_reason = me.StringField()
    # Earlier plans, kept for history: [{code, version, name, until}].
    plan_history = me.ListField(me.DictField())


class Service(me.Document):
    meta = {
        "collection": "services",
        "indexes": [
            "customer_id",
            "subscription_id",
            # The seed: an identifier is unique among the service entries in use (active or suspended, not
            # terminated). Per service type, so one phone number can identify a customer's voice, data and SMS
            # services (the seed's global identifier).
            {"fields": ["service_type", "identifier"], "unique": True, "name": "in_use_identifier_unique",
             "partialFilterExpression": {"in_use": True}},
            # Rating looks services up by identifier, suspended and terminated ones too (to say why an event is
            # refused): the partial index above cannot serve that query, so without this one every usage batch
            # and every reservation scanned the whole collection.
            {"fields": ["identifier", "service_type"], "name": "service_lookup"},
        ],
    }

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True, min_value=1)
    subscription_id = me.StringField(required=True)
    product_code = me.StringField(required=True)
    service_type = me.StringField(required=True)
    identifier = me.StringField(required=True, min_length=1, max_length=64)
    status = me.EnumField(ServiceStatus, required=True, default=ServiceStatus.ACTIVE)
    # True until terminated: the unique index keeps a suspended service's identifier reserved.
    in_use = me.BooleanField(required=True, default=True)
    devices = me.ListField(me.StringField(max_length=64))
    event_generators = me.ListField(me.StringField(max_length=64))
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField()
    terminated_at = me.DateTimeField()


class SharingGroup(me.Document):
    """The owner's subscription resources are consumed by the members in real time, under `policy`."""

    meta = {"collection": "sharing_groups", "indexes": ["owner_customer_id"]}

    id = me.StringField(primary_key=True)
    name = me.StringField(required=True, max_length=100)
    owner_customer_id = me.IntField(required=True, min_value=1)
    subscription_id = me.StringField(required=True)
    policy = me.StringField(required=True)
    status = me.EnumField(GroupStatus, required=True, default=GroupStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)
    cancelled_at = me.DateTimeField()


class SharingMember(me.Document):
    meta = {
        "collection": "sharing_members",
        "indexes": [{"fields": ["group_id", "customer_id"], "unique": True}, "customer_id"],
    }

    id = me.StringField(primary_key=True)
    group_id = me.StringField(required=True)
    customer_id = me.IntField(required=True, min_value=1)
    status = me.EnumField(GroupStatus, required=True, default=GroupStatus.ACTIVE)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    joined_at = me.DateTimeField(required=True, default=utc_now)


class Tax(me.EmbeddedDocument):
    """The tax an adjustment carries to billing (seed: tax, tax supplier, general ledger)."""

    code = me.StringField(required=True)
    supplier = me.StringField(required=True)
    gl_code = me.StringField(required=True)


class Balance(me.Document):
    """One balance of a resource in a balance group; `amount` is signed (rating.domain.balances)."""

    meta = {
        "collection": "balances",
        "indexes": [("balance_group_id", "resource"), "customer_id", "billing_profile_id"],
    }

    id = me.StringField(primary_key=True)
    balance_group_id = me.StringField(required=True)
    customer_id = me.IntField(required=True, min_value=1)
    billing_profile_id = me.StringField()
    resource = me.StringField(required=True)
    amount = me.Decimal128Field(required=True, precision=6)
    initial = me.Decimal128Field(required=True, precision=6)
    validity = me.EnumField(ValidityKind, required=True)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    priority = me.IntField(required=True, default=0)
    source = me.StringField(required=True)
    bill_item = me.StringField()
    created_at = me.DateTimeField(required=True, default=utc_now)
    # Credit held by open reservations (rating.service_layer.charging writes it with $inc); declared so a
    # balance with a reservation on it still loads.
    held = me.Decimal128Field(precision=6)


class BillingCycle(me.Document):
    """The current cycle of a billing profile, as billing announced it with `billing.cycle_started`."""

    meta = {"collection": "billing_cycles"}

    id = me.StringField(primary_key=True)  # the billing profile id
    customer_id = me.IntField(required=True)
    bill_id = me.DynamicField()  # billing's bill id, as billing sends it
    start = me.DateTimeField(required=True)
    end = me.DateTimeField(required=True)
    previous_start = me.DateTimeField()
    payment_type = me.StringField()
    currency = me.StringField()


ALL_DOCUMENTS: list[type[me.Document]] = [BalanceGroup, Subscription, Service, SharingGroup, SharingMember,
                                          Balance, BillingCycle]
