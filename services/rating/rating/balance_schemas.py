"""Wire schemas of balances (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import DecimalString
from chassis.shapes import rpc_shape
from rating.domain.balances import Direction, ValidityKind


class ValiditySchema(Schema):
    kind = fields.Enum(ValidityKind, by_value=True, load_default=ValidityKind.CYCLE)
    valid_to = fields.AwareDateTime(load_default=None, allow_none=True, data_key="validTo")

    @validates_schema
    def _until_needs_date(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] is ValidityKind.UNTIL and data.get("valid_to") is None:
            raise ValidationError("a balance valid until a date needs validTo", "validTo")


class BalanceCreateSchema(Schema):
    id = fields.UUID(load_default=None)
    customer_id = fields.Integer(required=True, strict=True, data_key="customerId", validate=validate.Range(min=1))
    balance_group_id = fields.String(required=True, data_key="balanceGroupId", validate=validate.Length(min=1))
    resource = fields.String(required=True, validate=validate.Length(min=1, max=32))
    amount = DecimalString(required=True, minimum=0, exclusive_minimum=True)
    direction = fields.Enum(Direction, by_value=True, required=True)
    validity = fields.Nested(ValiditySchema, load_default=lambda: {"kind": ValidityKind.CYCLE, "valid_to": None})
    priority = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000))
    bill_item = fields.String(load_default=None, allow_none=True, data_key="billItem",
                              validate=validate.Length(max=200))


# An adjustment that changes nothing is refused: a rule on a decimal's value JSON Schema cannot state.
NOT_ZERO = validate.NoneOf([0], error="an adjustment must change the amount")


BalanceAdjustSchema = rpc_shape("balance-adjust.v1", checks={"amount": NOT_ZERO})


class BalanceSchema(Schema):
    id = fields.String()
    balance_group_id = fields.String(data_key="balanceGroupId")
    customer_id = fields.Integer(data_key="customerId")
    resource = fields.String()
    amount = DecimalString()
    initial = DecimalString()
    validity = fields.String()
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    priority = fields.Integer()
    source = fields.String()
    bill_item = fields.String(data_key="billItem", allow_none=True)
    created_at = fields.AwareDateTime(data_key="createdAt")
