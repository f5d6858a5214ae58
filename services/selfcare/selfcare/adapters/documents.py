"""MongoDB documents of the selfcare service: portal users, their sessions,
emailed one-time links and login counters. Secrets are stored as digests only."""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from selfcare.domain.tokens import LinkKind


class PortalUser(me.Document):
    """At most one per customer: the customer id is the key."""

    meta = {"collection": "portal_users", "indexes": [{"fields": ["email"], "unique": True}]}

    customer_id = me.IntField(primary_key=True, min_value=1)
    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.StringField(required=True, max_length=254)  # lower case, the login name
    password_hash = me.StringField(required=True)
    enabled = me.BooleanField(default=True)
    verified = me.BooleanField(default=False)
    must_change_password = me.BooleanField(default=False)
    failed_logins = me.IntField(default=0)
    locked_until = me.DateTimeField(null=True)
    created_at = me.DateTimeField(default=utc_now)
    updated_at = me.DateTimeField(default=utc_now)


class PortalSession(me.Document):
    """A logged-in browser. `_id` is the digest of the cookie's secret."""

    meta = {"collection": "portal_sessions", "indexes": [
        "customer_id", {"fields": ["expires_at"], "expireAfterSeconds": 0}]}

    id = me.StringField(primary_key=True)
    customer_id = me.IntField(required=True)
    csrf_token = me.StringField(required=True)
    created_at = me.DateTimeField(required=True)
    last_seen_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)
    address = me.StringField(null=True)


class OneTimeLink(me.Document):
    """An emailed verification or password-reset link. `_id` is the digest of its secret."""

    meta = {"collection": "one_time_links", "indexes": [
        "customer_id",
        # Kept a day past expiry so following an old link says "expired", not "unknown".
        {"fields": ["expires_at"], "expireAfterSeconds": 24 * 3600}]}

    id = me.StringField(primary_key=True)
    kind = me.EnumField(LinkKind, required=True)
    customer_id = me.IntField(required=True)
    email = me.StringField(required=True)
    created_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)
    used_at = me.DateTimeField(null=True)


class LoginCounter(me.Document):
    """Login attempts of one account or address in one time window (see domain.lockout)."""

    meta = {"collection": "login_counters", "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}

    id = me.StringField(primary_key=True)  # "<account|address>:<key>:<window start>"
    attempts = me.IntField(default=0)
    expires_at = me.DateTimeField(required=True)


ALL_DOCUMENTS: list[type[me.Document]] = [PortalUser, PortalSession, OneTimeLink, LoginCounter]
