"""Wire schemas (camelCase, as on the HTTP API and RPC). Loading gives snake_case dicts with Decimals;
dumping reads documents. Server-set fields are dump-only, so a client cannot set them."""
from __future__ import annotations

from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from catalog.domain import model as m
from chassis.fields import DecimalString

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", error="letters, digits, '_', '.', '-' (max 64)")
NAME = validate.Length(min=1, max=200)
IDENTIFIER = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,63}$", error="an identifier (letters, digits, '_')")


def _one_of(values: list[str]) -> validate.OneOf:
    return validate.OneOf(values)


def _code(**kwargs) -> fields.String:
    return fields.String(validate=CODE, **kwargs)


class Base(Schema):
    class Meta:
        unknown = RAISE


class Audited(Base):
    created_at = fields.AwareDateTime(data_key="createdAt", dump_only=True)
    updated_at = fields.AwareDateTime(data_key="updatedAt", dump_only=True)


class Described(Audited):
    """An entry identified by its code, with a name and an optional description."""

    code = _code(required=True)
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default=None, allow_none=True)


# -- business configuration ------------------------------------------------------------------

class ResourceSchema(Audited):
    code = _code(required=True)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=_one_of([k.value for k in m.ResourceKind]))
    currency = fields.String(load_default=None, allow_none=True)
    unit = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=20))
    minor_units = fields.Integer(data_key="minorUnits", load_default=None, allow_none=True,
                                 validate=validate.Range(min=0, max=6))
    consumption_order = fields.List(fields.String(validate=_one_of(m.CONSUMPTION_CRITERIA)),
                                    data_key="consumptionOrder", load_default=lambda: list(m.DEFAULT_CONSUMPTION_ORDER),
                                    validate=validate.Length(min=1))


class FieldDefinitionSchema(Base):
    name = fields.String(required=True, validate=IDENTIFIER)
    type = fields.String(required=True, validate=_one_of(m.SERVICE_FIELD_TYPES))
    role = fields.String(required=True, validate=_one_of([r.value for r in m.FieldRole]))
    allowed_values = fields.List(fields.String(validate=validate.Length(min=1, max=100)), data_key="allowedValues",
                                 load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)


class ServiceTypeSchema(Described):
    fields = fields.List(fields.Nested(FieldDefinitionSchema), required=True, validate=validate.Length(min=1))


class CustomerTypeSchema(Described):
    pass


class CustomAttributeSchema(Audited):
    entity = fields.String(required=True, validate=_one_of(m.ATTRIBUTE_ENTITIES))
    name = fields.String(required=True, validate=IDENTIFIER)
    type = fields.String(required=True, validate=_one_of(m.ATTRIBUTE_TYPES))
    allowed_values = fields.List(fields.String(validate=validate.Length(min=1, max=100)), data_key="allowedValues",
                                 load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)


class TaxSchema(Audited):
    code = _code(required=True)
    name = fields.String(required=True, validate=NAME)
    rate = DecimalString(required=True, minimum=0, maximum=100, metadata={"description": "percent"})
    supplier = fields.String(required=True, validate=NAME)
    gl_code = fields.String(data_key="glCode", required=True, validate=validate.Length(min=1, max=64))


class ThresholdSchema(Base):
    kind = fields.String(required=True, validate=_one_of(m.THRESHOLD_KINDS))
    value = DecimalString(required=True, minimum=0, exclusive_minimum=True)
    channels = fields.List(fields.String(validate=_one_of(m.CHANNELS)), required=True,
                           validate=validate.Length(min=1))


class CreditLimitSchema(Base):
    resource = _code(required=True)
    credit_limit = DecimalString(data_key="creditLimit", required=True, minimum=0)
    thresholds = fields.List(fields.Nested(ThresholdSchema), load_default=list)


class CreditProfileSchema(Described):
    limits = fields.List(fields.Nested(CreditLimitSchema), required=True, validate=validate.Length(min=1))


class SharedResourceSchema(Base):
    resource = _code(required=True)
    member_cap = DecimalString(data_key="memberCap", load_default=None, allow_none=True, minimum=0,
                               metadata={"description": "per member and billing cycle; null: no cap"})


class SharingPolicySchema(Described):
    resources = fields.List(fields.Nested(SharedResourceSchema), required=True, validate=validate.Length(min=1))
    on_exhausted = fields.String(data_key="onExhausted", required=True, validate=_one_of(m.EXHAUSTION_POLICIES))


# -- versioned offerings ---------------------------------------------------------------------

class Versioned(Described):
    version = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    published_at = fields.AwareDateTime(data_key="publishedAt", dump_only=True)
    retired_at = fields.AwareDateTime(data_key="retiredAt", dump_only=True)


class ValiditySchema(Base):
    unit = fields.String(required=True, validate=_one_of(m.VALIDITY_UNITS))
    count = fields.Integer(load_default=1, validate=validate.Range(min=0, max=10000))

    @validates_schema
    def _count(self, data, **kwargs):
        if data["unit"] != "unlimited" and data.get("count", 1) < 1:
            raise ValidationError("at least 1", "count")


class IntervalSchema(Base):
    unit = fields.String(required=True, validate=_one_of(m.INTERVAL_UNITS))
    count = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))


class RateSchema(Base):
    key = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(min=1)), required=True)
    price_per_unit = DecimalString(data_key="pricePerUnit", required=True, minimum=0)
    unit_size = DecimalString(data_key="unitSize", load_default=lambda: Decimal(1),
                              minimum=0, exclusive_minimum=True)
    rounding = fields.String(load_default="up", validate=_one_of(m.ROUNDING_MODES))


class RateTableSchema(Base):
    keys = fields.List(fields.String(), required=True)
    rates = fields.List(fields.Nested(RateSchema), required=True)


class DiscountTargetSchema(Base):
    product_types = fields.List(fields.String(validate=_one_of(["service", "recurring_fee", "one_time_fee"])),
                                data_key="productTypes", load_default=list)
    products = fields.List(_code(), load_default=list)


class DiscountSchema(Base):
    kind = fields.String(required=True, validate=_one_of(m.DISCOUNT_KINDS))
    value = DecimalString(required=True, minimum=0, exclusive_minimum=True)
    applies_to = fields.Nested(DiscountTargetSchema, data_key="appliesTo", load_default=dict)


class ProductSchema(Versioned):
    type = fields.String(required=True, validate=_one_of([t.value for t in m.ProductType]))
    optional = fields.Boolean(load_default=False)
    default_quantity = DecimalString(data_key="defaultQuantity", minimum=0, exclusive_minimum=True,
                                     load_default=lambda: Decimal(1))
    default_validity = fields.Nested(ValiditySchema, data_key="defaultValidity", load_default=None, allow_none=True)
    default_value = DecimalString(data_key="defaultValue", dump_only=True)
    tax = _code(load_default=None, allow_none=True)
    gl_code = fields.String(data_key="glCode", load_default=None, allow_none=True, validate=validate.Length(max=64))
    resource = _code(load_default=None, allow_none=True)
    # service products
    service_type = _code(data_key="serviceType", load_default=None, allow_none=True)
    price_resource = _code(data_key="priceResource", load_default=None, allow_none=True)
    free_units = DecimalString(data_key="freeUnits", load_default=None, allow_none=True, minimum=0)
    rate_table = fields.Nested(RateTableSchema, data_key="rateTable", load_default=None, allow_none=True)
    # fee products
    amount = DecimalString(load_default=None, allow_none=True, minimum=0)
    interval = fields.Nested(IntervalSchema, load_default=None, allow_none=True)
    proration = fields.String(load_default=None, allow_none=True, validate=_one_of(m.PRORATION_POLICIES))
    # discount products
    discount = fields.Nested(DiscountSchema, load_default=None, allow_none=True)


class RefSchema(Base):
    code = _code(required=True)
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class BundleSchema(Versioned):
    add_on = fields.Boolean(data_key="addOn", load_default=False)
    products = fields.List(fields.Nested(RefSchema), required=True, validate=validate.Length(min=1))


class PlanSchema(Versioned):
    payment_types = fields.List(fields.String(validate=_one_of(m.PAYMENT_TYPES)), data_key="paymentTypes",
                                required=True, validate=validate.Length(min=1))
    bundles = fields.List(fields.Nested(RefSchema), required=True, validate=validate.Length(min=1))
    add_ons = fields.List(fields.Nested(RefSchema), data_key="addOns", load_default=list)


# -- promotions ----------------------------------------------------------------------------------

class CouponSchema(Audited):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9][A-Z0-9-]{2,31}$",
                                                                 error="3-32 capital letters, digits or '-'"))
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default=None, allow_none=True)
    discount = fields.Nested(RefSchema, required=True)
    valid_from = fields.AwareDateTime(data_key="validFrom", required=True)
    valid_to = fields.AwareDateTime(data_key="validTo", load_default=None, allow_none=True)


class VoucherBatchSchema(Audited):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=NAME)
    prefix = fields.String(load_default="V", validate=validate.Regexp(r"^[A-Z0-9]{1,8}$",
                                                                      error="1-8 capital letters or digits"))
    bundle = fields.Nested(RefSchema, required=True)
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    valid_from = fields.AwareDateTime(data_key="validFrom", required=True)
    valid_to = fields.AwareDateTime(data_key="validTo", load_default=None, allow_none=True)
    redeemed = fields.Integer(dump_only=True)


class VoucherSchema(Base):
    code = fields.String()
    batch = fields.Integer()
    bundle = fields.Nested(RefSchema)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo")
    redeemed_by = fields.Integer(data_key="redeemedBy")
    subscription_id = fields.String(data_key="subscriptionId")
    redeemed_at = fields.AwareDateTime(data_key="redeemedAt")


CONFIG_SCHEMAS: dict[str, type[Schema]] = {
    "resource": ResourceSchema, "service_type": ServiceTypeSchema, "customer_type": CustomerTypeSchema,
    "custom_attribute": CustomAttributeSchema, "tax": TaxSchema, "credit_profile": CreditProfileSchema,
    "sharing_policy": SharingPolicySchema, "coupon": CouponSchema,
}
OFFERING_SCHEMAS: dict[str, type[Schema]] = {"product": ProductSchema, "bundle": BundleSchema, "plan": PlanSchema}
