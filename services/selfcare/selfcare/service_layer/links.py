"""Emailed one-time links: issuing one (with its `selfcare.email_requested` event in
the same transaction) and spending one exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chassis.errors import ValidationFailed
from chassis.mongo import UnitOfWork
from selfcare.adapters.documents import OneTimeLink
from selfcare.domain.tokens import LINK_PATHS, LinkKind, digest, new_secret


def issue(uow: UnitOfWork, user: dict[str, Any], kind: LinkKind, *, public_url: str, ttl: timedelta,
          now: datetime) -> dict[str, Any]:
    """A new link replaces any unused one of the same kind: only the latest email works."""
    links = uow.collection(OneTimeLink)
    links.delete_many({"customer_id": user["_id"], "kind": kind.value, "used_at": None}, session=uow.session)
    secret = new_secret()
    expires_at = now + ttl
    links.insert_one({"_id": digest(secret), "kind": kind.value, "customer_id": user["_id"],
                      "email": user["email"], "created_at": now, "expires_at": expires_at, "used_at": None},
                     session=uow.session)
    payload = {"kind": kind.value, "customerId": user["_id"], "email": user["email"],
               "name": f"{user['first_name']} {user['last_name']}",
               "link": f"{public_url.rstrip('/')}{LINK_PATHS[kind]}?token={secret}",
               "expiresAt": expires_at.isoformat()}
    uow.publish("selfcare.email_requested", payload, subject=str(user["_id"]))
    return {"kind": kind.value, "email": user["email"], "expiresAt": expires_at.isoformat()}


def spend(uow: UnitOfWork, secret: object, kind: LinkKind, now: datetime) -> dict[str, Any]:
    """Mark the link used and return it; unknown, used, expired or stale links are refused."""
    if not isinstance(secret, str) or not secret:
        raise ValidationFailed("The link has no token", {"token": "required"})
    links = uow.collection(OneTimeLink)
    link = links.find_one({"_id": digest(secret), "kind": kind.value}, session=uow.session)
    if link is None:
        raise ValidationFailed("This link is not valid (it may have been replaced by a newer one)",
                               {"token": "unknown"})
    if link["used_at"] is not None:
        raise ValidationFailed("This link was already used", {"token": "already used"})
    if link["expires_at"] <= now:
        raise ValidationFailed("This link has expired; ask for a new one", {"token": "expired"})
    links.update_one({"_id": link["_id"]}, {"$set": {"used_at": now}}, session=uow.session)
    return link
