"""The customers' side of the portal: logging in and out, sessions, the emailed
links and changing a password. Every rule takes an explicit `now`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from chassis.errors import Forbidden, PlatformError, Unauthorized, ValidationFailed
from chassis.mongo import UnitOfWork, transaction
from selfcare.adapters.documents import LoginCounter, OneTimeLink, PortalSession, PortalUser
from selfcare.domain.lockout import LoginLimits
from selfcare.domain.passwords import personal_parts
from selfcare.domain.tokens import LinkKind, SessionPolicy, digest, new_secret
from selfcare.service_layer import links
from selfcare.service_layer.credentials import checked_password, hash_password, verify_password
from selfcare.service_layer.users import SOURCE, revoke_sessions

BAD_CREDENTIALS = "Invalid email or password"
TOUCH_EVERY = timedelta(seconds=60)  # a session's expiry moves on at most once a minute (fewer writes)


class TooManyAttempts(PlatformError):
    status = 429
    title = "Too many attempts"
    code = "too-many-requests"

    def __init__(self, detail: str = "", fields: dict[str, Any] | None = None, retry_after: int = 60):
        super().__init__(detail, fields)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    """A valid session of an enabled, verified user."""

    customer_id: int
    csrf_token: str
    must_change_password: bool
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class NewSession:
    secret: str  # goes into the cookie; only its digest is stored
    session: Session
    expires_at: datetime


def _counted(kind: str, key: str, limits: LoginLimits, now: datetime) -> int:
    window = limits.window_start(now)
    counter = LoginCounter._get_collection().find_one_and_update(
        {"_id": f"{kind}:{key}:{int(window.timestamp())}"},
        {"$inc": {"attempts": 1}, "$setOnInsert": {"expires_at": window + limits.window}},
        upsert=True, return_document=ReturnDocument.AFTER)
    return int(counter["attempts"])


def _throttle(email: str, address: str | None, limits: LoginLimits, now: datetime) -> None:
    over = _counted("account", email, limits, now) > limits.per_account
    if address and _counted("address", address, limits, now) > limits.per_address:
        over = True
    if over:
        raise TooManyAttempts("Too many login attempts; wait a few minutes and try again",
                              retry_after=limits.retry_after(now))


def login(email: object, password: object, address: str | None, now: datetime,
          limits: LoginLimits = LoginLimits(), policy: SessionPolicy = SessionPolicy()) -> NewSession:
    missing = {name: "required" for name, value in (("email", email), ("password", password))
               if not isinstance(value, str) or not value}
    if missing:
        raise ValidationFailed(f"Invalid value for: {', '.join(sorted(missing))}", missing)
    assert isinstance(email, str) and isinstance(password, str)
    email = email.strip().lower()
    _throttle(email, address, limits, now)
    users = PortalUser._get_collection()
    user = users.find_one({"email": email})
    if user is not None and user.get("locked_until") and user["locked_until"] > now:
        raise TooManyAttempts("This account is locked after repeated failed logins; try again later",
                              retry_after=int((user["locked_until"] - now).total_seconds()) + 1)
    if not verify_password(user["password_hash"] if user else None, password[:1024]):
        if user is not None:
            failed = users.find_one_and_update({"_id": user["_id"]}, {"$inc": {"failed_logins": 1}},
                                               return_document=ReturnDocument.AFTER)["failed_logins"]
            locked_until = limits.locked_until(failed, now)
            if locked_until is not None:
                users.update_one({"_id": user["_id"]}, {"$set": {"locked_until": locked_until, "failed_logins": 0}})
        raise Unauthorized(BAD_CREDENTIALS)
    assert user is not None
    users.update_one({"_id": user["_id"]}, {"$set": {"failed_logins": 0, "locked_until": None}})
    # Said only after the right password, so these answers reveal nothing to a guesser.
    if not user["enabled"]:
        raise Forbidden("Portal access is disabled for this account; contact your operator")
    if not user["verified"]:
        raise Forbidden("Verify your email address first: follow the link in the verification email")
    secret, csrf = new_secret(), new_secret()
    expires_at = policy.expires_at(now, now)
    PortalSession(id=digest(secret), customer_id=user["_id"], csrf_token=csrf, created_at=now, last_seen_at=now,
                  expires_at=expires_at, address=address).save(force_insert=True)
    return NewSession(secret, _session(user, csrf), expires_at)


def _session(user: dict[str, Any], csrf: str) -> Session:
    return Session(customer_id=user["_id"], csrf_token=csrf, must_change_password=user["must_change_password"],
                   first_name=user["first_name"], last_name=user["last_name"], email=user["email"])


def current_session(secret: object, now: datetime, policy: SessionPolicy = SessionPolicy()) -> Session | None:
    """The session behind a cookie, or None when it is unknown, expired, or its user was
    deleted, disabled or unverified since (access ends on the next request)."""
    if not isinstance(secret, str) or not secret:
        return None
    sessions = PortalSession._get_collection()
    raw = sessions.find_one({"_id": digest(secret)})
    if raw is None or raw["expires_at"] <= now:
        return None
    user = PortalUser._get_collection().find_one({"_id": raw["customer_id"]})
    if user is None or not user["enabled"] or not user["verified"]:
        sessions.delete_one({"_id": raw["_id"]})
        return None
    if now - raw["last_seen_at"] >= TOUCH_EVERY:
        sessions.update_one({"_id": raw["_id"]}, {"$set": {
            "last_seen_at": now, "expires_at": policy.expires_at(raw["created_at"], now)}})
    return _session(user, raw["csrf_token"])


def logout(secret: object) -> None:
    if isinstance(secret, str) and secret:
        PortalSession._get_collection().delete_one({"_id": digest(secret)})


def verify_email(token: object, now: datetime) -> dict[str, Any]:
    def run(uow: UnitOfWork) -> dict[str, Any]:
        link = links.spend(uow, token, LinkKind.VERIFICATION, now)
        result = uow.collection(PortalUser).update_one(
            {"_id": link["customer_id"], "email": link["email"]},
            {"$set": {"verified": True, "updated_at": now}}, session=uow.session)
        if result.matched_count == 0:
            raise ValidationFailed("This link is not valid any more", {"token": "unknown"})
        return {"email": link["email"], "verified": True}

    return transaction(run, source=SOURCE)


def reset_password(token: object, password: object, confirmation: object, now: datetime) -> dict[str, Any]:
    """Following the emailed link also proves the address, so the user counts as verified."""
    user = _link_owner(token, LinkKind.PASSWORD_RESET)
    new_password = checked_password(password, confirmation, _personal(user))
    new_hash = hash_password(new_password)

    def run(uow: UnitOfWork) -> dict[str, Any]:
        link = links.spend(uow, token, LinkKind.PASSWORD_RESET, now)
        result = uow.collection(PortalUser).update_one(
            {"_id": link["customer_id"], "email": link["email"]},
            {"$set": {"password_hash": new_hash, "must_change_password": False, "verified": True,
                      "failed_logins": 0, "locked_until": None, "updated_at": now}}, session=uow.session)
        if result.matched_count == 0:
            raise ValidationFailed("This link is not valid any more", {"token": "unknown"})
        revoke_sessions(uow, link["customer_id"])
        return {"email": link["email"], "passwordChanged": True}

    return transaction(run, source=SOURCE)


def _link_owner(token: object, kind: LinkKind) -> dict[str, Any]:
    """The user a link belongs to, for checking a new password before the link is spent
    (a refused password must not burn the link). `spend` re-checks everything."""
    link = OneTimeLink._get_collection().find_one({"_id": digest(token), "kind": kind.value}) \
        if isinstance(token, str) and token else None
    user = PortalUser._get_collection().find_one({"_id": link["customer_id"]}) if link else None
    if user is None:
        raise ValidationFailed("This link is not valid (it may have been replaced by a newer one)",
                               {"token": "unknown"})
    return user


def _personal(user: dict[str, Any]) -> tuple[str, ...]:
    return personal_parts(user["first_name"], user["last_name"], user["email"])


def change_password(session_secret: str, customer_id: int, current: object, password: object,
                    confirmation: object, now: datetime) -> None:
    """The logged-in user's own change (also the forced one): other sessions end, this one stays."""
    user = PortalUser._get_collection().find_one({"_id": customer_id})
    if user is None:
        raise Unauthorized("Log in again")
    if not isinstance(current, str) or not verify_password(user["password_hash"], current[:1024]):
        raise ValidationFailed("The current password is wrong", {"currentPassword": "wrong password"})
    new_password = checked_password(password, confirmation, _personal(user), field="newPassword",
                                    confirmation_field="newPasswordConfirmation")
    if new_password == current:
        raise ValidationFailed("Choose a password different from the current one",
                               {"newPassword": "same as the current password"})
    new_hash = hash_password(new_password)

    def run(uow: UnitOfWork) -> None:
        uow.collection(PortalUser).update_one(
            {"_id": customer_id}, {"$set": {"password_hash": new_hash, "must_change_password": False,
                                            "updated_at": now}}, session=uow.session)
        uow.collection(PortalSession).delete_many(
            {"customer_id": customer_id, "_id": {"$ne": digest(session_secret)}}, session=uow.session)

    transaction(run, source=SOURCE)
