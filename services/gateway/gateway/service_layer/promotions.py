"""Promotion codes on a purchase: coupons add their discount product, vouchers are redeemed in catalog
(atomically: of concurrent redemptions exactly one wins) and add their bundle. Used by onboarding, add
subscription, add-on bundles and use voucher."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from chassis.errors import Conflict, NotFound, PlatformError
from gateway.domain import onboarding as rules

log = logging.getLogger(__name__)


class Rpc(Protocol):
    def call(self, service: str, method: str, *args: Any) -> Any: ...


def redeem(rpc: Rpc, codes: list[str], customer_id: int, subscription_id: str, identifiers: dict[str, str],
           new_identifier: Callable[[], str], vouchers_only: bool = False,
           redeemed: list[str] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Resolve every code, redeem the vouchers and return (summary, products they add). Errors name the
    code's index; `redeemed` collects the vouchers redeemed so far, for the caller's compensation."""
    summary, added = [], []
    for index, code in enumerate(codes):
        try:
            if code in codes[:index]:
                raise Conflict(f"code {code} is given twice: a voucher buys its bundle once")
            promotion = rpc.call("catalog", "resolve_promotion", code)
            bundle = None
            if promotion["kind"] == "voucher":
                rpc.call("catalog", "redeem_voucher", code, customer_id, subscription_id)
                if redeemed is not None:
                    redeemed.append(code)
                bundle = rpc.call("catalog", "get_bundle", promotion["bundle"]["code"], promotion["bundle"]["version"])
            elif vouchers_only:
                raise Conflict(f"{code} is a coupon, not a voucher")
        except (NotFound, Conflict) as exc:
            raise type(exc)(f"promotion code {code}: {exc.detail}", {str(index): exc.detail}) from exc
        summary.append({"code": code, "kind": promotion["kind"]})
        added += rules.promotion_products(promotion, bundle, identifiers, new_identifier)
    return summary, added


def release(rpc: Rpc, codes: list[str], subscription_id: str) -> bool:
    """Compensation: give back the vouchers this purchase redeemed. Returns whether all were released."""
    complete = True
    for code in codes:
        try:
            rpc.call("catalog", "release_voucher", code, subscription_id)
        except (NotFound, Conflict):
            pass  # a coupon, or a voucher this purchase never got: nothing of ours to release
        except PlatformError as exc:
            complete = False
            log.warning("voucher release failed", extra={"code": code, "subscription": subscription_id,
                                                         "error": exc.detail})
    return complete
