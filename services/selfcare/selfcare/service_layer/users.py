"""Operator use cases on a customer's portal user (called over RPC through the gateway).

Everything is validated before anything is written, so bad input changes nothing.
Revoking access (disable, delete, new password or email) deletes the user's sessions
in the same transaction, so it takes effect on the very next request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, transaction
from selfcare.adapters.documents import OneTimeLink, PortalSession, PortalUser
from selfcare.domain.passwords import personal_parts
from selfcare.domain.tokens import LinkKind
from selfcare.schemas import PasswordUpdateRequest, PortalUserCreate, PortalUserOut, PortalUserPatch
from selfcare.service_layer import links
from selfcare.service_layer.credentials import checked_password, hash_password

SOURCE = "selfcare"
_out = PortalUserOut()


class Services(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


@dataclass(frozen=True)
class LinkSettings:
    public_url: str = "http://127.0.0.1:8081"
    verification_ttl: timedelta = timedelta(hours=48)
    reset_ttl: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Any) -> LinkSettings:
        return cls(public_url=settings.service_setting("PUBLIC_URL", cls.public_url),
                   verification_ttl=timedelta(hours=float(settings.service_setting("VERIFICATION_TTL_HOURS", "48"))),
                   reset_ttl=timedelta(minutes=float(settings.service_setting("RESET_TTL_MINUTES", "60"))))


def out(raw: dict[str, Any]) -> dict[str, Any]:
    return _out.dump(raw)


def find(uow: UnitOfWork | None, customer_id: int) -> dict[str, Any]:
    users = uow.collection(PortalUser) if uow else PortalUser._get_collection()
    raw = users.find_one({"_id": customer_id}, session=uow.session if uow else None)
    if raw is None:
        raise NotFound(f"customer {customer_id} has no portal user")
    return raw


def revoke_sessions(uow: UnitOfWork, customer_id: int) -> None:
    uow.collection(PortalSession).delete_many({"customer_id": customer_id}, session=uow.session)


def _email_taken(exc: DuplicateKeyError) -> Conflict:
    return Conflict("Another portal user has this email", {"email": "already used by another portal user"})


def get_user(customer_id: int) -> dict[str, Any]:
    return out(find(None, customer_id))


def create_user(customer_id: int, payload: dict[str, Any], services: Services) -> dict[str, Any]:
    data = load_wire(PortalUserCreate(), payload)
    password = checked_password(data["password"], data["password_confirmation"],
                                personal_parts(data["first_name"], data["last_name"], data["email"]))
    services.call("customer", "get_customer", customer_id)  # NotFound for an unknown customer
    now = utc_now()
    raw = {"_id": customer_id, "first_name": data["first_name"], "last_name": data["last_name"],
           "email": data["email"], "password_hash": hash_password(password), "enabled": data["enabled"],
           "verified": False, "must_change_password": False, "failed_logins": 0, "locked_until": None,
           "created_at": now, "updated_at": now}

    def store(uow: UnitOfWork) -> dict[str, Any]:
        users = uow.collection(PortalUser)
        if users.find_one({"_id": customer_id}, {"_id": 1}, session=uow.session) is not None:
            raise Conflict(f"customer {customer_id} already has a portal user",
                           {"customerId": "has a portal user already (at most one per customer)"})
        users.insert_one(raw, session=uow.session)
        return out(raw)

    try:
        return transaction(store, source=SOURCE)
    except DuplicateKeyError as exc:
        raise _email_taken(exc) from exc


def update_user(customer_id: int, patch: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(PortalUserPatch(), patch)
    if not data:
        raise ValidationFailed("Nothing to change", {"_schema": "send at least one field"})
    current = find(None, customer_id)
    changes: dict[str, Any] = {k: data[k] for k in ("first_name", "last_name", "email", "enabled") if k in data}
    merged = {**current, **changes}
    if "password" in data or "password_confirmation" in data:
        password = checked_password(data.get("password"), data.get("password_confirmation"),
                                    personal_parts(merged["first_name"], merged["last_name"], merged["email"]))
        changes.update(password_hash=hash_password(password), must_change_password=False,
                       failed_logins=0, locked_until=None)
    email_changed = changes.get("email", current["email"]) != current["email"]
    if email_changed:
        changes["verified"] = False  # the new address must be verified before the next login
    revoke = "password_hash" in changes or email_changed or changes.get("enabled") is False

    def store(uow: UnitOfWork) -> dict[str, Any]:
        find(uow, customer_id)
        changes["updated_at"] = utc_now()
        uow.collection(PortalUser).update_one({"_id": customer_id}, {"$set": changes}, session=uow.session)
        if revoke:
            revoke_sessions(uow, customer_id)
        if email_changed:
            uow.collection(OneTimeLink).delete_many({"customer_id": customer_id}, session=uow.session)
        return out(find(uow, customer_id))

    try:
        return transaction(store, source=SOURCE)
    except DuplicateKeyError as exc:
        raise _email_taken(exc) from exc


def delete_user(customer_id: int) -> dict[str, Any]:
    """Remove the user, its sessions and its links: portal access ends at once."""

    def remove(uow: UnitOfWork) -> dict[str, Any]:
        before = out(find(uow, customer_id))
        forget(uow, customer_id)
        return before

    return transaction(remove, source=SOURCE)


def forget(uow: UnitOfWork, customer_id: int) -> None:
    uow.collection(PortalUser).delete_one({"_id": customer_id}, session=uow.session)
    revoke_sessions(uow, customer_id)
    uow.collection(OneTimeLink).delete_many({"customer_id": customer_id}, session=uow.session)


def request_verification_email(customer_id: int, settings: LinkSettings) -> dict[str, Any]:
    def run(uow: UnitOfWork) -> dict[str, Any]:
        user = find(uow, customer_id)
        if user["verified"]:
            raise Conflict("The email address is already verified", {"email": "already verified"})
        return links.issue(uow, user, LinkKind.VERIFICATION, public_url=settings.public_url,
                           ttl=settings.verification_ttl, now=utc_now())

    return transaction(run, source=SOURCE)


def request_password_update(customer_id: int, payload: dict[str, Any], settings: LinkSettings) -> dict[str, Any]:
    """`mode` email: send a reset link; nextLogin: the user must choose a new password
    before seeing anything else (sessions already open are held at that page too)."""
    mode = load_wire(PasswordUpdateRequest(), payload)["mode"]

    def run(uow: UnitOfWork) -> dict[str, Any]:
        user = find(uow, customer_id)
        if mode == "email":
            sent = links.issue(uow, user, LinkKind.PASSWORD_RESET, public_url=settings.public_url,
                               ttl=settings.reset_ttl, now=utc_now())
            return {"mode": mode, **sent}
        uow.collection(PortalUser).update_one(
            {"_id": customer_id}, {"$set": {"must_change_password": True, "updated_at": utc_now()}},
            session=uow.session)
        return {"mode": mode, "email": user["email"]}

    return transaction(run, source=SOURCE)
