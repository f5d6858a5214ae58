"""Wire schemas (camelCase, as on the HTTP API and RPC)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from customer.domain.model import CustomerStatus


class CustomerCreateSchema(Schema):
    first_name = fields.String(required=True, data_key="firstName", validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, data_key="lastName", validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class CustomerSchema(Schema):
    id = fields.Integer()
    first_name = fields.String(data_key="firstName")
    last_name = fields.String(data_key="lastName")
    email = fields.String()
    status = fields.Enum(CustomerStatus, by_value=True)
    created_at = fields.AwareDateTime(data_key="createdAt")
    updated_at = fields.AwareDateTime(data_key="updatedAt")
