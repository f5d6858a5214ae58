"""Wire schemas of rating (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from marshmallow import Schema, fields

from chassis.fields import DecimalString
from chassis.shapes import enum, rpc_shape, shape
from rating.domain.model import Change, GroupStatus, ProductStatus, ProductType, ServiceStatus, SubscriptionStatus

# RPC payloads that are a gateway component plus what the gateway takes from the path (and an id the caller
# may choose, so a saga can compensate a step whose reply it never got): contracts/rpc/schemas/*.json.
BalanceGroupCreateSchema = rpc_shape("balance-group-create.v1", absent_is_null=True)


class BalanceGroupEditSchema(shape("BalanceGroupEdit", defaults=False)):
    """What an operator changes on a balance group: its name, and the credit profile whose thresholds rating
    watches (null: none, RATING_DEFAULT_CREDIT_PROFILE applies)."""


class BalanceGroupSchema(shape("BalanceGroup")):
    pass


# The product snapshot a subscription keeps: its one declaration is contracts/rpc/schemas/subscription-product.v1.json
# (the gateway builds it, rating loads it).
ProductInSchema = rpc_shape("subscription-product.v1", fields={"type": enum(ProductType)})


# contracts/rpc/schemas/subscription-create.v1.json: what the onboarding saga sends.
SubscriptionCreateSchema = rpc_shape("subscription-create.v1", fields={
    "products": lambda **kwargs: fields.List(fields.Nested(ProductInSchema), **kwargs)})


# contracts/rpc/schemas/products-add.v1.json: products bought on a running subscription (an add-on bundle or
# the bundles of vouchers).
AddProductsSchema = rpc_shape("products-add.v1", fields={
    "products": lambda **kwargs: fields.List(fields.Nested(ProductInSchema), **kwargs), "change": enum(Change)})


class ProductEditSchema(shape("ProductEdit", defaults=False)):
    pass


# contracts/rpc/schemas/plan-transition.v1.json: what the gateway sends to change (or preview changing) the plan.
PlanTransitionSchema = rpc_shape("plan-transition.v1", fields={
    "products": lambda **kwargs: fields.List(fields.Nested(ProductInSchema), **kwargs)})


class ProductSchema(Schema):
    id = fields.String()
    bundle_code = fields.String(data_key="bundleCode", allow_none=True)
    bundle_version = fields.Integer(data_key="bundleVersion", allow_none=True)
    promo_code = fields.String(data_key="promoCode", allow_none=True)
    code = fields.String()
    version = fields.Integer()
    name = fields.String()
    type = fields.Enum(ProductType, by_value=True)
    service_type = fields.String(data_key="serviceType", allow_none=True)
    quantity = DecimalString()
    value = DecimalString(allow_none=True)
    validity_unit = fields.String(data_key="validityUnit", allow_none=True)
    validity_count = fields.Integer(data_key="validityCount", allow_none=True)
    purchased = fields.Boolean()
    resource = fields.String(allow_none=True)
    free_units = DecimalString(data_key="freeUnits", allow_none=True)
    service_id = fields.String(data_key="serviceId", allow_none=True)
    optional = fields.Boolean()
    origin = fields.String()
    currency = fields.String(allow_none=True)
    interval = fields.Dict(allow_none=True)
    proration = fields.String(allow_none=True)
    tax = fields.String(allow_none=True)
    gl_code = fields.String(data_key="glCode", allow_none=True)
    discount = fields.Dict(allow_none=True)
    status = fields.Enum(ProductStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    added_at = fields.AwareDateTime(data_key="addedAt")
    cancelled_at = fields.AwareDateTime(data_key="cancelledAt", allow_none=True)


class SubscriptionSchema(Schema):
    id = fields.String()
    customer_id = fields.Integer(data_key="customerId")
    balance_group_id = fields.String(data_key="balanceGroupId")
    billing_profile_id = fields.String(data_key="billingProfileId")
    plan_code = fields.String(data_key="planCode")
    plan_version = fields.Integer(data_key="planVersion")
    plan_name = fields.String(data_key="planName")
    products = fields.List(fields.Nested(ProductSchema))
    promo_codes = fields.List(fields.String(), data_key="promoCodes")
    status = fields.Enum(SubscriptionStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    created_at = fields.AwareDateTime(data_key="createdAt")
    changed_at = fields.AwareDateTime(data_key="changedAt", allow_none=True)
    cancelled_at = fields.AwareDateTime(data_key="cancelledAt", allow_none=True)
    cancel_reason = fields.String(data_key="cancelReason", allow_none=True)
    plan_history = fields.List(fields.Dict(), data_key="planHistory")


class ServiceSchema(shape("Service", fields={"status": enum(ServiceStatus)})):
    pass


class ServiceEditSchema(shape("ServiceEdit", fields={"status": enum(ServiceStatus)}, defaults=False)):
    pass


SharingGroupCreateSchema = rpc_shape("sharing-group-create.v1", fields={"status": enum(GroupStatus)},
                                     absent_is_null=True)


class SharingGroupSchema(shape("SharingGroup", fields={"status": enum(GroupStatus)})):
    """A sharing group as stored; its members are added by the reads that list them, the owner's name by the
    gateway."""


class PeriodEditSchema(shape("SharingEdit", fields={"status": enum(GroupStatus)}, defaults=False)):
    """Edit sharing (owner or member): status and validity."""


SharingJoinSchema = rpc_shape("sharing-join.v1", absent_is_null=True)


class SharingMemberSchema(shape("SharingMember", fields={"status": enum(GroupStatus)})):
    pass
