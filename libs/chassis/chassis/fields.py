"""marshmallow fields for the wire rules every service shares.

`DecimalString`: amounts and quantities are decimal strings on the wire and
`Decimal` in code; a JSON float is refused (marshmallow's own Decimal field
accepts floats, which silently lose cents).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields

from chassis import money


class DecimalString(fields.Field):
    """A decimal string (an integer is accepted too); dumps as a plain decimal string."""

    def __init__(self, *, minimum: Decimal | int | None = None, maximum: Decimal | int | None = None,
                 exclusive_minimum: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.minimum = None if minimum is None else Decimal(minimum)
        self.maximum = None if maximum is None else Decimal(maximum)
        self.exclusive_minimum = exclusive_minimum

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else money.to_wire(money.to_decimal(value))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValidationError("must be a decimal string such as \"12.50\" (floats are refused)")
        try:
            amount = money.to_decimal(value)
        except money.MoneyError as exc:
            raise ValidationError(str(exc)) from exc
        if self.minimum is not None:
            if self.exclusive_minimum and amount <= self.minimum:
                raise ValidationError(f"must be greater than {self.minimum}")
            if not self.exclusive_minimum and amount < self.minimum:
                raise ValidationError(f"must not be less than {self.minimum}")
        if self.maximum is not None and amount > self.maximum:
            raise ValidationError(f"must not be greater than {self.maximum}")
        return amount
