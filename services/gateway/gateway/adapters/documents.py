"""MongoDB documents of the gateway service."""
from __future__ import annotations

import uuid

import mongoengine as me

from chassis.clock import utc_now
from gateway.domain.auth import Role


def new_session_epoch() -> str:
    return uuid.uuid4().hex


class OperatorUser(me.Document):
    """An operator of the platform. Only the argon2 hash of the password is kept."""

    meta = {"collection": "operator_users"}

    username = me.StringField(primary_key=True, max_length=64)
    password_hash = me.StringField(required=True)
    role = me.EnumField(Role, required=True)
    enabled = me.BooleanField(default=True)
    # Every token carries the epoch it was issued in; a password or role change and disabling
    # draw a new one, so every earlier token is refused at once (not "issued before a second").
    # Random rather than a counter, so a user deleted and created again never accepts old tokens.
    session_epoch = me.StringField(required=True, default=new_session_epoch)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


class LoginThrottle(me.Document):
    """Failed-login counter of one key (`user:<name>` or `address:<ip>`), see domain/throttle.py."""

    meta = {"collection": "login_throttle"}

    key = me.StringField(primary_key=True)
    failures = me.IntField(required=True, default=0)
    window_start = me.DateTimeField(null=True)
    locked_until = me.DateTimeField(null=True)


class AuditEntry(me.Document):
    """One change made by an operator: who, what, on what, when, before and after."""

    meta = {"collection": "audit", "indexes": [("-at",), ("actor", "-at"), ("target", "-at"), ("customer_id", "at")]}

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
    # The customer the change concerns, whatever its target (account, contact, payment info,
    # onboarding, subscription, bill...), so one query reads a customer's whole history.
    customer_id = me.IntField(null=True)


from gateway.adapters.sagas import OnboardingSaga  # noqa: E402  (its own module: the saga's state and store)

ALL_DOCUMENTS: list[type[me.Document]] = [OperatorUser, LoginThrottle, AuditEntry, OnboardingSaga]
