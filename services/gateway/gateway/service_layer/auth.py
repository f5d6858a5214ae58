"""Operator users, passwords (argon2) and bearer tokens (JWT, HS256)."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from mongoengine.errors import NotUniqueError

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from chassis.settings import Settings
from gateway.adapters.documents import OperatorUser, new_session_epoch
from gateway.domain.auth import Role
from gateway.domain.throttle import ThrottlePolicy
from gateway.service_layer import throttle

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
DEV_ADMIN_USERNAME = "admin"
DEV_ADMIN_PASSWORD = "admin-dev-password"  # documented local default; refused in production
DEV_TOKEN_SECRET = "dev-only-token-secret-not-for-production"
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both failures take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class AuthConfig:
    secret: str
    ttl: timedelta
    admin_username: str
    admin_password: str
    per_user: ThrottlePolicy = ThrottlePolicy(5, timedelta(minutes=15), timedelta(minutes=15))
    per_address: ThrottlePolicy = ThrottlePolicy(20, timedelta(minutes=15), timedelta(minutes=15))

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        """Local defaults make `make up` work out of the box; with GATEWAY_ENV=production the
        secret and the admin password must be given explicitly (docs/decisions/0303)."""
        production = settings.service_setting("ENV", "development").lower() == "production"
        secret = settings.service_setting("TOKEN_SECRET", "")
        password = settings.service_setting("ADMIN_PASSWORD", "")
        if production:
            missing = [name for name, value in (("GATEWAY_TOKEN_SECRET", secret),
                                                ("GATEWAY_ADMIN_PASSWORD", password)) if not value]
            if missing:
                raise SystemExit(f"gateway: GATEWAY_ENV=production requires {', '.join(missing)}")
            if len(secret) < 32:
                raise SystemExit("gateway: GATEWAY_TOKEN_SECRET must be at least 32 characters in production")
        window = timedelta(seconds=int(settings.service_setting("LOGIN_WINDOW_SECONDS", "900")))
        lockout = timedelta(seconds=int(settings.service_setting("LOGIN_LOCKOUT_SECONDS", "900")))
        return cls(
            secret=secret or DEV_TOKEN_SECRET,
            ttl=timedelta(minutes=int(settings.service_setting("TOKEN_TTL_MINUTES", "480"))),
            admin_username=settings.service_setting("ADMIN_USERNAME", DEV_ADMIN_USERNAME),
            admin_password=password or DEV_ADMIN_PASSWORD,
            per_user=ThrottlePolicy(int(settings.service_setting("LOGIN_MAX_FAILURES", "5")), window, lockout),
            per_address=ThrottlePolicy(int(settings.service_setting("LOGIN_MAX_FAILURES_PER_ADDRESS", "20")),
                                       window, lockout),
        )


def _user_out(user: OperatorUser) -> dict[str, Any]:
    return {"username": user.username, "role": user.role.value, "enabled": user.enabled,
            "createdAt": user.created_at.isoformat(), "updatedAt": user.updated_at.isoformat()}


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed("Password too short", {"password": f"at least {MIN_PASSWORD} characters"})
    return password


def ensure_initial_admin(config: AuthConfig) -> bool:
    """Create the configured admin if it does not exist yet. Returns whether it did."""
    if OperatorUser.objects(username=config.admin_username).first() is not None:
        return False
    try:
        OperatorUser(username=config.admin_username, password_hash=_hasher.hash(config.admin_password),
                     role=Role.ADMIN).save(force_insert=True)
    except NotUniqueError:  # another API replica created it first
        return False
    log.info("created the initial admin user", extra={"username": config.admin_username})
    return True


def issue_token(config: AuthConfig, username: Any, password: Any, address: str = "unknown") -> dict[str, Any]:
    """A bearer token for a right username and password. Failed attempts count per user and per
    client address; past the policy's maximum both are locked out for a while (429, Retry-After)."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise ValidationFailed("username and password are required", {"username": "required", "password": "required"})
    keys = {f"user:{username}": config.per_user, f"address:{address}": config.per_address}
    throttle.ensure_allowed(keys)
    user = OperatorUser.objects(username=username).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.enabled:
        throttle.record_failure(keys)
        raise Unauthorized("Invalid username or password")
    throttle.forget(f"user:{username}")
    now = utc_now()
    claims = {"sub": user.username, "role": user.role.value, "iat": int(now.timestamp()),
              "exp": int((now + config.ttl).timestamp()), "jti": uuid.uuid4().hex, "sep": user.session_epoch}
    return {"accessToken": jwt.encode(claims, config.secret, algorithm=ALGORITHM), "tokenType": "Bearer",
            "expiresIn": int(config.ttl.total_seconds()), "role": user.role.value}


def verify_token(config: AuthConfig, token: str) -> dict[str, Any] | None:
    """The token's operator (`{"sub", "role"}`) or None. A token is good only while the user's
    session epoch is the one it was issued in: a password or role change, disabling or deleting
    the user ends every earlier token at once."""
    try:
        claims = jwt.decode(token, config.secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp", "iat", "sep"]})
    except jwt.PyJWTError:
        return None
    # Every request asks this: one plain read of three fields (no mongoengine query set) is its cost.
    user = OperatorUser._get_collection().find_one({"_id": claims["sub"]},
                                                    {"role": 1, "enabled": 1, "session_epoch": 1})
    if user is None or not user.get("enabled", True) or claims["sep"] != user.get("session_epoch"):
        return None
    return {"sub": user["_id"], "role": Role(user["role"]).value}


# -- user management (admin) -------------------------------------------------------------

def list_users() -> list[dict[str, Any]]:
    return [_user_out(user) for user in OperatorUser.objects.order_by("username")]


def get_user(username: str) -> dict[str, Any]:
    return _user_out(_find(username))


def _find(username: str) -> OperatorUser:
    user = OperatorUser.objects(username=username).first()
    if user is None:
        raise NotFound(f"operator user {username!r} does not exist")
    return user


def create_user(body: dict[str, Any]) -> dict[str, Any]:
    password = _check_password(body.get("password"))
    user = OperatorUser(username=body["username"], password_hash=_hasher.hash(password), role=Role(body["role"]),
                        enabled=body.get("enabled", True))
    try:
        user.save(force_insert=True)
    except NotUniqueError as exc:
        raise Conflict(f"operator user {body['username']!r} already exists", {"username": "already exists"}) from exc
    return _user_out(user)


def update_user(username: str, body: dict[str, Any], acting: str) -> dict[str, Any]:
    user = _find(username)
    now = utc_now()
    if username == acting and (body.get("enabled") is False or body.get("role", user.role.value) != Role.ADMIN):
        raise Conflict("An admin cannot disable or demote themselves", {"username": "is you"})
    if "password" in body:
        user.password_hash = _hasher.hash(_check_password(body["password"]))
        user.session_epoch = new_session_epoch()
    if "role" in body and Role(body["role"]) != user.role:
        user.role = Role(body["role"])
        user.session_epoch = new_session_epoch()
    if "enabled" in body:
        user.enabled = bool(body["enabled"])
        if not user.enabled:
            user.session_epoch = new_session_epoch()
    user.updated_at = now
    user.save()
    return _user_out(user)


def delete_user(username: str, acting: str) -> dict[str, Any]:
    if username == acting:
        raise Conflict("An admin cannot delete themselves", {"username": "is you"})
    user = _find(username)
    before = _user_out(user)
    user.delete()
    return before
