"""Wire schemas of usage reads and adjustments (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from chassis.shapes import rpc_shape
from rating.balance_schemas import NOT_ZERO


class UsageFilterSchema(Schema):
    service_id = fields.String(load_default=None, data_key="serviceId")
    start_from = fields.AwareDateTime(load_default=None, data_key="from")
    start_to = fields.AwareDateTime(load_default=None, data_key="to")
    status = fields.String(load_default=None, validate=validate.OneOf(["rated", "rejected"]))
    offset = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("start_from") and data.get("start_to") and data["start_to"] <= data["start_from"]:
            raise ValidationError("must be after from", "to")


UsageAdjustSchema = rpc_shape("usage-adjust.v1", checks={"amount": NOT_ZERO})


class ManualEventSchema(Schema):
    id = fields.String(load_default=None, validate=validate.Length(min=1, max=128))
    customer_id = fields.Integer(required=True, strict=True, data_key="customerId", validate=validate.Range(min=1))
    service_id = fields.String(required=True, data_key="serviceId", validate=validate.Length(min=1))
    start_time = fields.Raw(required=True, data_key="startTime")
    quantity = fields.Raw(required=True)
    event_fields = fields.Dict(keys=fields.String(), load_default=dict, data_key="fields")
