"""Real-time charging (TMF654 names): reserve units for a service, commit the used part, release the rest.

A reservation holds credit on the balances it would draw (`held` on each balance document, and on the
sharing member's per-cycle counter), so rating and other reservations see that credit as taken. Every write
touches the balance documents themselves, so two concurrent reservations, or a reservation and a stream
batch, drawing the same balance conflict in MongoDB and the later one is retried on what the first committed:
credit is never promised twice. Postpaid grants what is asked (charges have no ceiling); prepaid grants what
the credit covers and denies when nothing is left. Reservations expire by themselves (`expire_reservations`,
run by the worker's timer); an expired reservation can no longer be committed.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import UpdateOne

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, ValidationFailed
from chassis.mongo import UnitOfWork, database, transaction
from rating.adapters.catalog import CatalogCache
from rating.domain.engine import PREPAID, Rating, rate
from rating.domain.usage import UsageRejected
from rating.service_layer.rating_batch import BatchRating, check_event
from rating.service_layer.usage import usage_wire

SOURCE = "rating"
COLLECTION = "reservations"
DEFAULT_TTL = timedelta(seconds=60)
MAX_TTL = timedelta(hours=1)


def _bad(problem: UsageRejected) -> Exception:
    if problem.field is None:
        return Conflict(f"denied: {problem.reason}")
    return ValidationFailed("the reservation is not valid", {problem.field: problem.reason})


def _event(payload: dict[str, Any], event_id: str, quantity: Any, start: str) -> dict[str, Any]:
    return {"id": event_id, "serviceType": payload.get("serviceType"),
            "serviceIdentifier": payload.get("serviceIdentifier"), "startTime": start, "quantity": quantity,
            "fields": payload.get("fields") or {}}


def _wire(reservation: dict[str, Any]) -> dict[str, Any]:
    return {"id": reservation["_id"], "status": reservation["status"],
            "serviceIdentifier": reservation["event"]["serviceIdentifier"],
            "serviceType": reservation["event"]["serviceType"], "resource": reservation["resource"],
            "requested": format(reservation["requested"].to_decimal().normalize(), "f"),
            "granted": format(reservation["granted"].to_decimal().normalize(), "f"),
            "expiresAt": reservation["expires_at"].isoformat(), "usageId": reservation.get("usage_id")}


def reserve(payload: dict[str, Any], catalog: CatalogCache, lateness: timedelta) -> dict[str, Any]:
    """Hold credit for up to `quantity` of a service's usage. Idempotent on `id`."""
    if not isinstance(payload, dict):
        raise ValidationFailed("a reservation is an object", {"body": "must be an object"})
    now = utc_now()
    reservation_id = str(payload.get("id") or uuid.uuid4())
    ttl = _ttl(payload.get("ttlSeconds"))
    start = payload.get("startTime") or now.isoformat()
    checked = check_event(_event(payload, reservation_id, payload.get("quantity"), start), catalog)
    if checked.problem is not None:
        raise _bad(checked.problem)
    event = checked.event
    assert event is not None

    def hold(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.collection(COLLECTION).find_one({"_id": reservation_id}, session=uow.session)
        if existing is not None:
            return _wire(existing)
        batch = BatchRating(uow, catalog, now, lateness, "charging")
        batch.load([event], thresholds=False)
        try:
            context = batch.context(event)
            as_of, _ = batch.timing(event, context.cycle)
        except UsageRejected as problem:
            raise _bad(problem) from None

        def attempt(quantity: Decimal) -> Rating:
            return rate(fields=checked.values, quantity=quantity, tariff=context.tariff, book=batch.book,
                        group_id=context.subscription["balance_group_id"], payment_type=context.payment_type,
                        as_of=as_of, share=context.share)

        granted, result = _largest_grant(attempt, event.quantity, context.payment_type)
        updates = [UpdateOne({"_id": i.balance_id}, {"$inc": {"held": Decimal128(i.amount)}})
                   for i in result.impacts]
        if updates:
            uow.collection("balances").bulk_write(updates, session=uow.session)
        if context.share is not None and result.shared_used:
            uow.collection("sharing_usage").update_one(
                {"_id": context.share.member_key},
                {"$inc": {"held": Decimal128(result.shared_used), "used": Decimal128("0")},
                 "$setOnInsert": {"member_id": context.share.member_key.split(":", 1)[0], "created_at": now}},
                upsert=True, session=uow.session)
        reservation = {
            "_id": reservation_id, "status": "active", "customer_id": context.subscription["customer_id"],
            "service_id": context.service["_id"], "resource": context.tariff.resource,
            "event": {**checked.raw, "fields": checked.raw.get("fields") or {}},
            "requested": Decimal128(event.quantity), "granted": Decimal128(granted),
            "holds": [{"balance_id": i.balance_id, "amount": Decimal128(i.amount)} for i in result.impacts],
            "share_key": context.share.member_key if context.share is not None else None,
            "shared_held": Decimal128(result.shared_used), "created_at": now, "expires_at": now + ttl}
        uow.collection(COLLECTION).insert_one(reservation, session=uow.session)
        return _wire(reservation)

    return transaction(hold, source=SOURCE)


def _ttl(value: Any) -> timedelta:
    if value is None:
        return DEFAULT_TTL
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL.total_seconds():
        raise ValidationFailed("not a valid time to live", {"ttlSeconds": "must be an integer from 1 to 3600"})
    return timedelta(seconds=value)


def _largest_grant(attempt: Any, requested: Decimal, payment_type: str) -> tuple[Decimal, Rating]:
    """The requested quantity if it can be rated; for prepaid, otherwise the largest whole quantity the
    credit covers (bisection: coverage only shrinks as the quantity grows)."""
    try:
        return requested, attempt(requested)
    except UsageRejected as problem:
        if payment_type != PREPAID or problem.field is not None:
            raise _bad(problem) from None
        denial = problem
    low, high = Decimal(0), requested.to_integral_value(rounding="ROUND_FLOOR")
    best: tuple[Decimal, Rating] | None = None
    while low <= high:
        middle = (low + high) // 2
        try:
            best = (middle, attempt(middle)) if middle > 0 else best
            low = middle + 1
        except UsageRejected:
            high = middle - 1
    if best is None:
        raise _bad(denial)
    return best


def _release_holds(uow: UnitOfWork, reservation: dict[str, Any]) -> None:
    updates = [UpdateOne({"_id": h["balance_id"]}, {"$inc": {"held": Decimal128(-h["amount"].to_decimal())}})
               for h in reservation["holds"]]
    if updates:
        uow.collection("balances").bulk_write(updates, session=uow.session)
    shared = reservation["shared_held"].to_decimal()
    if reservation.get("share_key") and shared:
        uow.collection("sharing_usage").update_one({"_id": reservation["share_key"]},
                                                   {"$inc": {"held": Decimal128(-shared)}}, session=uow.session)


def _active(uow: UnitOfWork, reservation_id: str, now: datetime) -> dict[str, Any]:
    reservation = uow.collection(COLLECTION).find_one({"_id": reservation_id}, session=uow.session)
    if reservation is None:
        raise NotFound(f"reservation {reservation_id} does not exist")
    if reservation["status"] == "active" and reservation["expires_at"] <= now:
        raise Conflict(f"reservation {reservation_id} has expired")
    return reservation


def commit(reservation_id: str, payload: dict[str, Any], catalog: CatalogCache,
           lateness: timedelta) -> dict[str, Any]:
    """Rate the used part of a reservation as one usage event and release the rest. Idempotent."""
    now = utc_now()
    used = payload.get("used") if isinstance(payload, dict) else None

    def settle(uow: UnitOfWork) -> dict[str, Any]:
        reservation = _active(uow, reservation_id, now)
        if reservation["status"] == "committed":
            return {**_wire(reservation), "usage": usage_wire(uow.collection("usage").find_one(
                {"_id": reservation["usage_id"]}, session=uow.session))}
        if reservation["status"] != "active":
            raise Conflict(f"reservation {reservation_id} is {reservation['status']}")
        template = reservation["event"]
        checked = check_event(_event(template, payload.get("usageId") or reservation_id, used, template["startTime"]),
                         catalog)
        if checked.problem is not None:
            field = "used" if checked.problem.field == "quantity" else checked.problem.field or "used"
            raise ValidationFailed("the commit is not valid", {field: checked.problem.reason})
        assert checked.event is not None
        if checked.event.quantity > reservation["granted"].to_decimal():
            raise ValidationFailed("more used than granted",
                                   {"used": f"must not exceed {_wire(reservation)['granted']}"})
        _release_holds(uow, reservation)
        [outcome] = BatchRating(uow, catalog, now, lateness, "charging").run([checked], strict=True)
        uow.collection(COLLECTION).update_one({"_id": reservation_id}, {"$set": {
            "status": "committed", "usage_id": outcome.id, "used": Decimal128(checked.event.quantity),
            "settled_at": now}}, session=uow.session)
        record = uow.collection("usage").find_one({"_id": outcome.id}, session=uow.session)
        return {**_wire({**reservation, "status": "committed", "usage_id": outcome.id}), "usage": usage_wire(record)}

    return transaction(settle, source=SOURCE)


def release(reservation_id: str) -> dict[str, Any]:
    """Give the whole reservation back. Idempotent; a committed reservation cannot be released."""
    now = utc_now()

    def give_back(uow: UnitOfWork) -> dict[str, Any]:
        reservation = uow.collection(COLLECTION).find_one({"_id": reservation_id}, session=uow.session)
        if reservation is None:
            raise NotFound(f"reservation {reservation_id} does not exist")
        if reservation["status"] == "committed":
            raise Conflict(f"reservation {reservation_id} is already committed")
        if reservation["status"] == "active":
            _release_holds(uow, reservation)
            reservation["status"] = "released"
            uow.collection(COLLECTION).update_one({"_id": reservation_id}, {"$set": {
                "status": "released", "settled_at": now}}, session=uow.session)
        return _wire(reservation)

    return transaction(give_back, source=SOURCE)


def expire_reservations(now: datetime | None = None, limit: int = 500) -> int:
    """Release the holds of reservations past their expiry; returns how many expired."""
    now = now or utc_now()
    overdue = [r["_id"] for r in database()[COLLECTION].find(
        {"status": "active", "expires_at": {"$lte": now}}, {"_id": 1}).limit(limit)]

    def expire(uow: UnitOfWork, reservation_id: str) -> int:
        reservation = uow.collection(COLLECTION).find_one({"_id": reservation_id, "status": "active"},
                                                          session=uow.session)
        if reservation is None:
            return 0
        _release_holds(uow, reservation)
        uow.collection(COLLECTION).update_one({"_id": reservation_id}, {"$set": {
            "status": "expired", "settled_at": now}}, session=uow.session)
        return 1

    return sum(transaction(lambda uow, rid=rid: expire(uow, rid), source=SOURCE) for rid in overdue)
