"""Wire schemas of payments (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.domain.payments import OFFLINE_METHODS, Direction, PaymentMethod
from chassis.fields import DecimalString


class OfflinePaymentSchema(Schema):
    id = fields.UUID(load_default=None)
    direction = fields.Enum(Direction, by_value=True, load_default=Direction.CHARGE)
    amount = DecimalString(required=True, minimum=0, exclusive_minimum=True)
    method = fields.Enum(PaymentMethod, by_value=True, required=True,
                         validate=validate.OneOf(OFFLINE_METHODS, error="must be cash, creditCard or transfer"))
    provider = fields.String(load_default=None, validate=validate.Length(max=50))
    reference = fields.String(load_default=None, validate=validate.Length(max=140))
    note = fields.String(load_default=None, validate=validate.Length(max=500))
    paid_at = fields.AwareDateTime(load_default=None, data_key="paidAt")


class PaymentSchema(Schema):
    id = fields.String()
    invoice_id = fields.String(data_key="invoiceId")
    invoice_number = fields.String(data_key="invoiceNumber", allow_none=True)
    customer_id = fields.Integer(data_key="customerId")
    billing_profile_id = fields.String(data_key="billingProfileId")
    direction = fields.Enum(Direction, by_value=True)
    amount = DecimalString()
    applied = DecimalString()
    to_credit = DecimalString(data_key="toCredit")
    currency = fields.String()
    method = fields.Enum(PaymentMethod, by_value=True)
    provider = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    paid_at = fields.AwareDateTime(data_key="paidAt")
    created_at = fields.AwareDateTime(data_key="createdAt")


class PayInvoiceSchema(Schema):
    """The self-care portal's payment: the customer's own invoice, a provider token, an idempotency key."""

    customer_id = fields.Integer(required=True, data_key="customerId", strict=True, validate=validate.Range(min=1))
    invoice_id = fields.String(required=True, data_key="invoiceId", validate=validate.Length(min=1))
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    idempotency_key = fields.String(required=True, data_key="idempotencyKey", validate=validate.Length(min=8, max=100))
