"""MongoDB documents of the gateway service."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from gateway.domain.auth import Role


class OperatorUser(me.Document):
    """An operator of the platform. Only the argon2 hash of the password is kept."""

    meta = {"collection": "operator_users"}

    username = me.StringField(primary_key=True, max_length=64)
    password_hash = me.StringField(required=True)
    role = me.EnumField(Role, required=True)
    enabled = me.BooleanField(default=True)
    # Tokens issued before this instant are refused (password change, disabling).
    tokens_valid_after = me.DateTimeField(required=True, default=utc_now)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


class AuditEntry(me.Document):
    """One change made by an operator: who, what, on what, when, before and after."""

    meta = {"collection": "audit", "indexes": [("-at",), ("actor", "-at"), ("target", "-at")]}

    at = me.DateTimeField(required=True, default=utc_now)
    actor = me.StringField(required=True)
    role = me.StringField(required=True)
    operation = me.StringField(required=True)
    method = me.StringField(required=True)
    path = me.StringField(required=True)
    target = me.StringField(required=True)
    status = me.IntField(required=True)
    before = me.DynamicField(null=True)
    after = me.DynamicField(null=True)


from gateway.adapters.sagas import OnboardingSaga  # noqa: E402  (its own module: the saga's state and store)

ALL_DOCUMENTS: list[type[me.Document]] = [OperatorUser, AuditEntry, OnboardingSaga]
