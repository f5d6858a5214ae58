"""Wire schemas of billing (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.domain.hierarchy import GroupStatus
from billing.domain.profiles import Interval, PaymentType


class BillingProfileCreateSchema(Schema):
    # The caller may choose the id (a saga does, so it can compensate a step whose reply it never got).
    id = fields.UUID(load_default=None)
    customer_id = fields.Integer(required=True, data_key="customerId", strict=True, validate=validate.Range(min=1))
    name = fields.String(load_default="Main billing profile", validate=validate.Length(min=1, max=100))
    payment_type = fields.Enum(PaymentType, by_value=True, required=True, data_key="paymentType")
    resource = fields.String(required=True, validate=validate.Length(min=1, max=32))
    interval = fields.Enum(Interval, by_value=True, required=True)
    billing_day = fields.Integer(required=True, data_key="billingDay", strict=True)
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")


class BillingProfileSchema(Schema):
    id = fields.String()
    customer_id = fields.Integer(data_key="customerId")
    name = fields.String()
    payment_type = fields.Enum(PaymentType, by_value=True, data_key="paymentType")
    resource = fields.String()
    interval = fields.Enum(Interval, by_value=True)
    billing_day = fields.Integer(data_key="billingDay")
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    created_at = fields.AwareDateTime(data_key="createdAt")


class HierarchyGroupCreateSchema(Schema):
    id = fields.UUID(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    owner_customer_id = fields.Integer(required=True, data_key="ownerCustomerId", strict=True,
                                       validate=validate.Range(min=1))
    billing_profile_id = fields.String(required=True, data_key="billingProfileId")
    status = fields.Enum(GroupStatus, by_value=True, load_default=GroupStatus.ACTIVE)
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")


class HierarchyGroupSchema(Schema):
    id = fields.String()
    name = fields.String()
    owner_customer_id = fields.Integer(data_key="ownerCustomerId")
    billing_profile_id = fields.String(data_key="billingProfileId")
    status = fields.Enum(GroupStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)


class HierarchyJoinSchema(Schema):
    id = fields.UUID(load_default=None)
    group_id = fields.String(required=True, data_key="groupId")
    customer_id = fields.Integer(required=True, data_key="customerId", strict=True, validate=validate.Range(min=1))
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")


class HierarchyMemberSchema(Schema):
    id = fields.String()
    group_id = fields.String(data_key="groupId")
    customer_id = fields.Integer(data_key="customerId")
    status = fields.Enum(GroupStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    joined_at = fields.AwareDateTime(data_key="joinedAt")
