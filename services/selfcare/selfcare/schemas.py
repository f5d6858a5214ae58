"""Wire shapes of portal users (marshmallow, camelCase on the wire)."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_load, validate


class _Names(Schema):
    class Meta:
        unknown = RAISE

    first_name = fields.String(data_key="firstName", validate=validate.Length(min=1, max=100))
    last_name = fields.String(data_key="lastName", validate=validate.Length(min=1, max=100))
    email = fields.Email(validate=validate.Length(max=254))
    password = fields.String(validate=validate.Length(min=1, max=1024))
    password_confirmation = fields.String(data_key="passwordConfirmation", validate=validate.Length(max=1024))
    enabled = fields.Boolean()

    @post_load
    def lower_email(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "email" in data:
            data["email"] = data["email"].strip().lower()
        return data


class PortalUserCreate(_Names):
    first_name = fields.String(data_key="firstName", required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(data_key="lastName", required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    password_confirmation = fields.String(data_key="passwordConfirmation", required=True,
                                          validate=validate.Length(max=1024))
    enabled = fields.Boolean(load_default=True)


class PortalUserPatch(_Names):
    """Every field optional; a new password comes with its confirmation."""


class PasswordUpdateRequest(Schema):
    class Meta:
        unknown = RAISE

    mode = fields.String(required=True, validate=validate.OneOf(["email", "nextLogin"]))


class PortalUserOut(Schema):
    class Meta:
        unknown = EXCLUDE

    customer_id = fields.Integer(data_key="customerId", attribute="_id")
    first_name = fields.String(data_key="firstName")
    last_name = fields.String(data_key="lastName")
    email = fields.String()
    enabled = fields.Boolean()
    verified = fields.Boolean()
    must_change_password = fields.Boolean(data_key="mustChangePassword")
    locked_until = fields.AwareDateTime(data_key="lockedUntil", allow_none=True)
    created_at = fields.AwareDateTime(data_key="createdAt")
    updated_at = fields.AwareDateTime(data_key="updatedAt")
