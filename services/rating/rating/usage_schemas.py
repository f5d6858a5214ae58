"""Wire schemas of usage reads and adjustments (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load, validates_schema

from chassis.shapes import Shape, rpc_shape
from rating.balance_schemas import NOT_ZERO


class UsageFilterSchema(Shape, rpc="usage-filters.v1", absent_is_null=True):
    """The list's filters (contracts/rpc/schemas/usage-filters.v1.json); `from` and `to` load as start_from and
    start_to (Python words: `from` is a keyword)."""

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("from") and data.get("to") and data["to"] <= data["from"]:
            raise ValidationError("must be after from", "to")

    @post_load
    def _python_names(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        start_from, start_to = data.pop("from"), data.pop("to")
        return {**data, "start_from": start_from, "start_to": start_to}


UsageAdjustSchema = rpc_shape("usage-adjust.v1", checks={"amount": NOT_ZERO})


# contracts/rpc/schemas/usage-event-create.v1.json; the start time and quantity stay strings: rate_batch checks
# them as it checks every usage event (one parser for both ways in).
ManualEventSchema = rpc_shape("usage-event-create.v1", absent_is_null=True)
