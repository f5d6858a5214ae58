"""MongoDB documents of the catalog service.

Field names equal the snake_case keys of the loaded wire data (catalog.schemas), so a validated
payload becomes a document with `Document._from_son(data)`. Amounts are Decimal128.
"""
from __future__ import annotations

from typing import Any

import mongoengine as me

from catalog.domain import model as m
from chassis.clock import utc_now


class Audited(me.Document):
    meta: dict[str, Any] = {"abstract": True}  # each document's own (collection, indexes, ...)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


class Described(Audited):
    """An entry identified by a unique code, with a name and an optional description."""

    meta = {"abstract": True, "indexes": [{"fields": ["code"], "unique": True}]}
    code = me.StringField(required=True)
    name = me.StringField(required=True)
    description = me.StringField()


# -- business configuration ---------------------------------------------------------------------

class Resource(Audited):
    meta = {"collection": "resources", "indexes": [{"fields": ["code"], "unique": True}]}
    code = me.StringField(required=True)
    name = me.StringField(required=True)
    kind = me.StringField(required=True, choices=[k.value for k in m.ResourceKind])
    currency = me.StringField()
    unit = me.StringField()
    minor_units = me.IntField(min_value=0)
    consumption_order = me.ListField(me.StringField(choices=m.CONSUMPTION_CRITERIA))


class FieldDefinition(me.EmbeddedDocument):
    name = me.StringField(required=True)
    type = me.StringField(required=True)
    role = me.StringField(required=True)
    allowed_values = me.ListField(me.StringField(), default=None)
    description = me.StringField()


class ServiceType(Described):
    meta = {"collection": "service_types"}
    fields = me.ListField(me.EmbeddedDocumentField(FieldDefinition))


class CustomerType(Described):
    meta = {"collection": "customer_types"}


class CustomAttribute(Audited):
    meta = {"collection": "custom_attributes", "indexes": [{"fields": ["entity", "name"], "unique": True}]}
    entity = me.StringField(required=True)
    name = me.StringField(required=True)
    type = me.StringField(required=True)
    allowed_values = me.ListField(me.StringField(), default=None)
    description = me.StringField()


class Tax(Audited):
    meta = {"collection": "taxes", "indexes": [{"fields": ["code"], "unique": True}]}
    code = me.StringField(required=True)
    name = me.StringField(required=True)
    rate = me.Decimal128Field(required=True, min_value=0, max_value=100)
    supplier = me.StringField(required=True)
    gl_code = me.StringField(required=True)


class Threshold(me.EmbeddedDocument):
    kind = me.StringField(required=True)
    value = me.Decimal128Field(required=True)
    channels = me.ListField(me.StringField())


class CreditLimit(me.EmbeddedDocument):
    resource = me.StringField(required=True)
    credit_limit = me.Decimal128Field(required=True, min_value=0)
    thresholds = me.ListField(me.EmbeddedDocumentField(Threshold))


class CreditProfile(Described):
    meta = {"collection": "credit_profiles"}
    limits = me.ListField(me.EmbeddedDocumentField(CreditLimit))


class SharedResource(me.EmbeddedDocument):
    resource = me.StringField(required=True)
    member_cap = me.Decimal128Field(min_value=0)


class SharingPolicy(Described):
    meta = {"collection": "sharing_policies"}
    resources = me.ListField(me.EmbeddedDocumentField(SharedResource))
    on_exhausted = me.StringField(required=True, choices=m.EXHAUSTION_POLICIES)


# -- versioned offerings ------------------------------------------------------------------------

class Ref(me.EmbeddedDocument):
    code = me.StringField(required=True)
    version = me.IntField(required=True, min_value=1)


class Versioned(Audited):
    meta = {"abstract": True}
    code = me.StringField(required=True)
    version = me.IntField(required=True, min_value=1)
    status = me.StringField(required=True, choices=[s.value for s in m.Status])
    name = me.StringField(required=True)
    description = me.StringField()
    published_at = me.DateTimeField()
    retired_at = me.DateTimeField()


_VERSION_INDEXES = [{"fields": ["code", "version"], "unique": True}, "status"]


class Validity(me.EmbeddedDocument):
    unit = me.StringField(required=True)
    count = me.IntField(required=True, min_value=0)


class Interval(me.EmbeddedDocument):
    unit = me.StringField(required=True)
    count = me.IntField(required=True, min_value=1)


class Rate(me.EmbeddedDocument):
    key = me.DictField()
    price_per_unit = me.Decimal128Field(required=True, min_value=0)
    unit_size = me.Decimal128Field(required=True)
    rounding = me.StringField(required=True, choices=m.ROUNDING_MODES)


class RateTable(me.EmbeddedDocument):
    keys = me.ListField(me.StringField())
    rates = me.ListField(me.EmbeddedDocumentField(Rate))


class DiscountTarget(me.EmbeddedDocument):
    product_types = me.ListField(me.StringField())
    products = me.ListField(me.StringField())


class Discount(me.EmbeddedDocument):
    kind = me.StringField(required=True, choices=m.DISCOUNT_KINDS)
    value = me.Decimal128Field(required=True, min_value=0)
    applies_to = me.EmbeddedDocumentField(DiscountTarget)


class Product(Versioned):
    meta = {"collection": "products", "indexes": [*_VERSION_INDEXES, "service_type"]}
    type = me.StringField(required=True, choices=[t.value for t in m.ProductType])
    optional = me.BooleanField(default=False)
    default_quantity = me.Decimal128Field(required=True)
    default_validity = me.EmbeddedDocumentField(Validity)
    tax = me.StringField()
    gl_code = me.StringField()
    resource = me.StringField()
    service_type = me.StringField()
    price_resource = me.StringField()
    free_units = me.Decimal128Field(min_value=0)
    rate_table = me.EmbeddedDocumentField(RateTable)
    amount = me.Decimal128Field(min_value=0)
    interval = me.EmbeddedDocumentField(Interval)
    proration = me.StringField()
    discount = me.EmbeddedDocumentField(Discount)


class Bundle(Versioned):
    meta = {"collection": "bundles", "indexes": _VERSION_INDEXES}
    add_on = me.BooleanField(default=False)
    products = me.ListField(me.EmbeddedDocumentField(Ref))


class Plan(Versioned):
    meta = {"collection": "plans", "indexes": _VERSION_INDEXES}
    payment_types = me.ListField(me.StringField(choices=m.PAYMENT_TYPES))
    bundles = me.ListField(me.EmbeddedDocumentField(Ref))
    add_ons = me.ListField(me.EmbeddedDocumentField(Ref))


# -- promotions -----------------------------------------------------------------------------------

class PromotionCode(me.Document):
    """One row per coupon or voucher code: codes are unique across both kinds."""

    meta = {"collection": "promotion_codes"}
    code = me.StringField(primary_key=True)
    kind = me.StringField(required=True, choices=["coupon", "voucher"])


class Coupon(Described):
    meta = {"collection": "coupons"}
    discount = me.EmbeddedDocumentField(Ref, required=True)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()


class VoucherBatch(Audited):
    meta = {"collection": "voucher_batches"}
    id = me.IntField(primary_key=True)
    name = me.StringField(required=True)
    prefix = me.StringField(required=True)
    bundle = me.EmbeddedDocumentField(Ref, required=True)
    count = me.IntField(required=True, min_value=1)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()


class Voucher(me.Document):
    meta = {"collection": "vouchers", "indexes": [{"fields": ["code"], "unique": True}, "batch", "redeemed_at"]}
    code = me.StringField(required=True)
    batch = me.IntField(required=True)
    bundle = me.EmbeddedDocumentField(Ref, required=True)
    valid_from = me.DateTimeField(required=True)
    valid_to = me.DateTimeField()
    redeemed_by = me.IntField()
    subscription_id = me.StringField()
    redeemed_at = me.DateTimeField()


CONFIG_DOCUMENTS: dict[str, type[me.Document]] = {
    "resource": Resource, "service_type": ServiceType, "customer_type": CustomerType,
    "custom_attribute": CustomAttribute, "tax": Tax, "credit_profile": CreditProfile,
    "sharing_policy": SharingPolicy, "coupon": Coupon,
}
OFFERING_DOCUMENTS: dict[str, type[me.Document]] = {"product": Product, "bundle": Bundle, "plan": Plan}

ALL_DOCUMENTS: list[type[me.Document]] = [
    *CONFIG_DOCUMENTS.values(), *OFFERING_DOCUMENTS.values(), PromotionCode, VoucherBatch, Voucher,
]
