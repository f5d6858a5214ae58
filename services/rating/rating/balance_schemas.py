"""Wire schemas of balances (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from chassis.shapes import Shape, enum, rpc_shape
from rating.domain.balances import Direction, ValidityKind


class ValiditySchema(Shape, component="BalanceValidity", fields={"kind": enum(ValidityKind)}):
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


class BalanceSchema(Shape, component="Balance"):
    """A balance as the API shows it (`valid` is added by the listing, which knows the instant)."""
