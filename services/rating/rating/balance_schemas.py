"""Wire schemas of balances (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.fields import DecimalString
from chassis.shapes import enum, rpc_shape, shape
from rating.domain.balances import Direction, ValidityKind


class ValiditySchema(shape("BalanceValidity", fields={"kind": enum(ValidityKind)})):
    @validates_schema
    def _until_needs_date(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] is ValidityKind.UNTIL and data.get("valid_to") is None:
            raise ValidationError("a balance valid until a date needs validTo", "validTo")


def _validity(**kwargs: Any) -> fields.Field:
    """An absent validity is the default one loaded like a sent one (its kind's default: the cycle)."""
    return fields.Nested(ValiditySchema, **{**kwargs, "load_default": lambda: ValiditySchema().load({})})


BalanceCreateSchema = rpc_shape("balance-create.v1", fields={"direction": enum(Direction), "validity": _validity},
                                absent_is_null=True)


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
