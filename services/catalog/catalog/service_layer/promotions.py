"""Promotions: coupons (reusable discount codes) and vouchers (single-use codes, generated in
batches, each buying one bundle once). Coupons are created through `config` (they are plain
entries); codes of both kinds share one namespace (`promotion_codes`)."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from catalog.adapters.documents import Coupon, PromotionCode, Voucher, VoucherBatch
from catalog.adapters.repository import MongoReferences
from catalog.domain import rules
from catalog.schemas import VoucherBatchSchema, VoucherSchema
from catalog.service_layer import offerings
from catalog.service_layer.common import commit, load, page
from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound
from chassis.mongo import UnitOfWork, database, get_or_not_found

# No 0/O or 1/I: codes are read aloud and typed from paper.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
_batch = VoucherBatchSchema()
_voucher = VoucherSchema()


def _new_code(prefix: str) -> str:
    return f"{prefix}-{''.join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))}"


def _dump_batch(batch: VoucherBatch) -> dict[str, Any]:
    wire = _batch.dump(batch)
    wire["redeemed"] = Voucher.objects(batch=batch.id, redeemed_at__ne=None).count()
    return wire


def create_voucher_batch(payload: dict[str, Any]) -> dict[str, Any]:
    """A batch of `count` unique voucher codes for one bundle, all written in one transaction."""
    data = rules.check_voucher_batch(load(_batch, payload), MongoReferences())
    taken = {doc["_id"] for doc in database()[PromotionCode._get_collection_name()].find(
        {"_id": {"$regex": f"^{data['prefix']}-"}}, {"_id": 1})}
    codes: set[str] = set()
    while len(codes) < data["count"]:
        code = _new_code(data["prefix"])
        if code not in taken:
            codes.add(code)

    def write(uow: UnitOfWork) -> VoucherBatch:
        batch = VoucherBatch._from_son({**data, "id": uow.next_sequence("voucher_batch")})
        uow.insert(batch)
        uow.collection(PromotionCode).insert_many([{"_id": c, "kind": "voucher"} for c in sorted(codes)],
                                                  session=uow.session)
        uow.collection(Voucher).insert_many(
            [Voucher(code=c, batch=batch.id, bundle=batch.bundle, valid_from=batch.valid_from,
                     valid_to=batch.valid_to).to_mongo() for c in sorted(codes)], session=uow.session)
        return batch

    return _dump_batch(commit(write, "a generated voucher code clashed with an existing code; try again"))


def get_voucher_batch(batch_id: int) -> dict[str, Any]:
    batch = get_or_not_found(VoucherBatch, batch_id, "voucher batch")
    return _dump_batch(batch)


def list_voucher_batches(offset: int = 0, limit: int = 100) -> dict[str, Any]:
    return page(VoucherBatch.objects.order_by("id"), offset, limit, _dump_batch)


def list_vouchers(batch_id: int, offset: int = 0, limit: int = 100, redeemed: bool | None = None) -> dict[str, Any]:
    get_voucher_batch(batch_id)
    query = Voucher.objects(batch=batch_id)
    if redeemed is not None:
        query = query.filter(redeemed_at__ne=None) if redeemed else query.filter(redeemed_at=None)
    return page(query.order_by("code"), offset, limit, _voucher.dump)


def get_voucher(code: str) -> dict[str, Any]:
    voucher = Voucher.objects(code=code).first()
    if voucher is None:
        raise NotFound(f"voucher {code} does not exist")
    return _voucher.dump(voucher)


def resolve_promotion(code: str, now: datetime | None = None) -> dict[str, Any]:
    """What a promotion code gives: a coupon's discount product or a voucher's bundle."""
    now = now or utc_now()
    coupon = Coupon.objects(code=code).first()
    if coupon is not None:
        problem = rules.promotion_window_problem(coupon.valid_from, coupon.valid_to, now)
        if problem:
            raise Conflict(f"coupon {code} is {problem}")
        discount = offerings.get("product", coupon.discount.code, coupon.discount.version)
        return {"code": code, "kind": "coupon", "name": coupon.name, "discount": discount,
                "validFrom": coupon.valid_from.isoformat(), "validTo": _iso(coupon.valid_to)}
    voucher = Voucher.objects(code=code).first()
    if voucher is None:
        raise NotFound(f"promotion code {code} does not exist")
    if voucher.redeemed_at is not None:
        raise Conflict(f"voucher {code} was already redeemed")
    problem = rules.promotion_window_problem(voucher.valid_from, voucher.valid_to, now)
    if problem:
        raise Conflict(f"voucher {code} is {problem}")
    return {"code": code, "kind": "voucher", "bundle": {"code": voucher.bundle.code, "version": voucher.bundle.version},
            "validFrom": voucher.valid_from.isoformat(), "validTo": _iso(voucher.valid_to)}


def redeem_voucher(code: str, customer_id: int, subscription_id: str) -> dict[str, Any]:
    """Mark a voucher used, atomically: of two concurrent redemptions exactly one wins. Redeeming
    again for the same subscription returns the same result (a retried saga step)."""
    problems = rules.Problems()
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) or customer_id < 1:
        problems.add("customerId", "must be a positive integer")
    if not isinstance(subscription_id, str) or not subscription_id:
        problems.add("subscriptionId", "must be a non-empty string")
    problems.raise_if_any("voucher redemption")
    now = utc_now()
    redeemed = Voucher._get_collection().find_one_and_update(
        {"code": code, "redeemed_at": None, "valid_from": {"$lte": now},
         "$or": [{"valid_to": None}, {"valid_to": {"$gt": now}}]},
        {"$set": {"redeemed_by": customer_id, "subscription_id": subscription_id, "redeemed_at": now}},
        return_document=ReturnDocument.AFTER)
    if redeemed is None:
        voucher = Voucher.objects(code=code).first()
        if voucher is None:
            raise NotFound(f"voucher {code} does not exist")
        if voucher.redeemed_at is not None and voucher.subscription_id == subscription_id \
                and voucher.redeemed_by == customer_id:
            return _redemption(voucher)
        if voucher.redeemed_at is not None:
            raise Conflict(f"voucher {code} was already redeemed at {voucher.redeemed_at.isoformat()}")
        raise Conflict(f"voucher {code} is {rules.promotion_window_problem(voucher.valid_from, voucher.valid_to, now)}")
    return _redemption(Voucher._from_son(redeemed))


def release_voucher(code: str, subscription_id: str) -> dict[str, Any]:
    """Undo a redemption (saga compensation); only the subscription that redeemed it may. Releasing an
    unredeemed voucher changes nothing."""
    released = Voucher._get_collection().find_one_and_update(
        {"code": code, "subscription_id": subscription_id},
        {"$set": {"redeemed_by": None, "subscription_id": None, "redeemed_at": None}},
        return_document=ReturnDocument.AFTER)
    voucher = Voucher._from_son(released) if released else Voucher.objects(code=code).first()
    if voucher is None:
        raise NotFound(f"voucher {code} does not exist")
    if released is None and voucher.redeemed_at is not None:
        raise Conflict(f"voucher {code} was redeemed by another subscription", {"subscriptionId": "not the redeemer"})
    return _voucher.dump(voucher)


def _redemption(voucher: Voucher) -> dict[str, Any]:
    return {"code": voucher.code, "redeemedBy": voucher.redeemed_by, "subscriptionId": voucher.subscription_id,
            "redeemedAt": voucher.redeemed_at.isoformat(),
            "bundle": {"code": voucher.bundle.code, "version": voucher.bundle.version}}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


