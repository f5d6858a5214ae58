"""Secrets handed to people (session cookies, CSRF tokens, emailed links) — no I/O.

Only a SHA-256 digest of a secret is stored, so a copy of the database lets nobody
log in or follow a link. Secrets carry 256 bits of randomness, so a plain digest
(no salt, no slow hash) is enough and lets the digest be the lookup key.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class LinkKind(StrEnum):
    VERIFICATION = "verification"
    PASSWORD_RESET = "password_reset"


LINK_PATHS = {LinkKind.VERIFICATION: "/verify-email", LinkKind.PASSWORD_RESET: "/reset-password"}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends after `idle` without requests, and after `absolute` in any case."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)

    def expires_at(self, created_at: datetime, last_seen_at: datetime) -> datetime:
        return min(last_seen_at + self.idle, created_at + self.absolute)
