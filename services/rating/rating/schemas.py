"""Wire schemas of rating (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from marshmallow import fields

from chassis.shapes import Shape, components, enum, properties_of, rpc_shape
from rating.domain.model import Change, GroupStatus, ProductStatus, ProductType, ServiceStatus, SubscriptionStatus

# RPC payloads that are a gateway component plus what the gateway takes from the path (and an id the caller
# may choose, so a saga can compensate a step whose reply it never got): contracts/rpc/schemas/*.json.
BalanceGroupCreateSchema = rpc_shape("balance-group-create.v1", absent_is_null=True)


class BalanceGroupEditSchema(Shape, component="BalanceGroupEdit", defaults=False):
    """What an operator changes on a balance group: its name, and the credit profile whose thresholds rating
    watches (null: none, RATING_DEFAULT_CREDIT_PROFILE applies)."""


class BalanceGroupSchema(Shape, component="BalanceGroup"):
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


class ProductEditSchema(Shape, component="ProductEdit", defaults=False):
    pass


# contracts/rpc/schemas/plan-transition.v1.json: what the gateway sends to change (or preview changing) the plan.
PlanTransitionSchema = rpc_shape("plan-transition.v1", fields={
    "products": lambda **kwargs: fields.List(fields.Nested(ProductInSchema), **kwargs)})


class ProductSchema(Shape, component="PurchasedProduct",
                    fields={"type": enum(ProductType), "status": enum(ProductStatus)}):
    """A purchased product as stored (output only)."""


class SubscriptionSchema(Shape, component="Subscription", fields={
        "status": enum(SubscriptionStatus),
        "products": lambda **kwargs: fields.List(fields.Nested(ProductSchema), **kwargs)}):
    """A subscription as stored (output only): its services are added by the reads that return them, the plan
    transition's proration by that use case, the redeemed promotions by the gateway."""


class ServiceSchema(Shape, component="Service", fields={"status": enum(ServiceStatus)}):
    pass


class ServiceEditSchema(Shape, component="ServiceEdit", fields={"status": enum(ServiceStatus)}, defaults=False):
    pass


SharingGroupCreateSchema = rpc_shape("sharing-group-create.v1", fields={"status": enum(GroupStatus)},
                                     absent_is_null=True)


class SharingGroupSchema(Shape, component="SharingGroup", fields={"status": enum(GroupStatus)}):
    """A sharing group as stored; its members are added by the reads that list them, the owner's name by the
    gateway."""


class PeriodEditSchema(Shape, component="SharingEdit", fields={"status": enum(GroupStatus)}, defaults=False):
    """Edit sharing (owner or member): status and validity."""


SharingJoinSchema = rpc_shape("sharing-join.v1", absent_is_null=True)


class SharingMemberSchema(Shape, component="SharingMember", fields={"status": enum(GroupStatus)}):
    pass


def _names(component: str) -> frozenset[str]:
    return frozenset(properties_of(components(), components()[component])[0])


# rating_charging.reserve / commit_reservation payloads (the gateway's ReservationCreate, ReservationCommit):
# their values are a usage event's, checked by the usage parser every usage path shares (no marshmallow on the
# charging hot path); only their names are read here, to refuse others.
RESERVATION_FIELDS = _names("ReservationCreate")
COMMIT_FIELDS = _names("ReservationCommit")
