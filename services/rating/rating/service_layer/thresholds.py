"""Threshold crossings of a batch: after balance changes, the balance group's credit profile (catalog) is
checked and `balance.threshold_crossed` is published once per threshold per cycle (decision 0010).

A balance group names its credit profile (`credit_profile`); without one, RATING_DEFAULT_CREDIT_PROFILE
applies, and without that no thresholds are watched. The record of a crossing (`threshold_crossings`, keyed by
group, resource, cycle and threshold) commits with the batch, so a redelivery never notifies twice.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chassis.mongo import UnitOfWork
from rating.adapters.catalog import CatalogCache
from rating.domain.balances import calendar_month
from rating.domain.engine import BalanceBook, Threshold, crossed

COLLECTION = "threshold_crossings"


def default_credit_profile() -> str | None:
    return os.environ.get("RATING_DEFAULT_CREDIT_PROFILE") or None


class ThresholdWatch:
    def __init__(self, uow: UnitOfWork, catalog: CatalogCache, book: BalanceBook, now: datetime,
                 groups: dict[str, dict[str, Any]], cycles: dict[str, dict[str, Any]]):
        self.uow, self.catalog, self.book, self.now = uow, catalog, book, now
        self.groups, self.cycles = groups, cycles
        self.default = default_credit_profile()
        self.candidates: dict[str, dict[str, Any]] = {}

    def _profile(self, group_id: str) -> str | None:
        return (self.groups.get(group_id) or {}).get("credit_profile") or self.default

    def _limits(self, group_id: str, resource: str) -> tuple[str, Decimal, tuple[Threshold, ...]] | None:
        profile = self._profile(group_id)
        if profile is None:
            return None
        found = self.catalog.thresholds(profile, resource)
        return None if found is None else (profile, *found)

    def before(self, group_id: str, resources: Iterable[str], as_of: datetime) -> dict[str, Decimal]:
        if self._profile(group_id) is None:
            return {}  # no credit profile: nothing watched (asked once per event, not per resource)
        return {r: self.book.total(group_id, r, as_of) for r in resources if self._limits(group_id, r)}

    def changed(self, group_id: str, before: dict[str, Decimal], as_of: datetime) -> None:
        for resource, previous in before.items():
            limits = self._limits(group_id, resource)
            assert limits is not None
            profile, credit_limit, thresholds = limits
            after = self.book.total(group_id, resource, as_of)
            group = self.groups[group_id]
            cycle = self.cycles.get(group["billing_profile_id"])
            cycle_id = cycle.get("bill_id") if cycle else None
            cycle_key = str(cycle["start"].isoformat() if cycle else calendar_month(as_of).start.isoformat())
            for threshold, level in crossed(thresholds, credit_limit, previous, after):
                key = f"{group_id}:{resource}:{cycle_key}:{threshold.kind}:{threshold.value}"
                self.candidates.setdefault(key, {
                    "customerId": group["customer_id"], "balanceGroupId": group_id,
                    "billingProfileId": group.get("billing_profile_id"), "resource": resource,
                    "creditProfile": profile,
                    "threshold": {"kind": threshold.kind, "value": format(threshold.value, "f")},
                    "value": format(level, "f"), "balance": format(after, "f"), "channels": list(threshold.channels),
                    "cycleId": cycle_id, "crossedAt": self.now.isoformat()})

    def publish(self) -> None:
        if not self.candidates:
            return
        known = {d["_id"] for d in self.uow.find_documents(COLLECTION, {"_id": {"$in": list(self.candidates)}},
                                                           {"_id": 1})}
        fresh = {k: v for k, v in self.candidates.items() if k not in known}
        if not fresh:
            return
        self.uow.insert_documents(COLLECTION, [{"_id": k, "at": self.now, "group": v["balanceGroupId"]}
                                               for k, v in fresh.items()], ordered=True)
        self.uow.publish_many(("balance.threshold_crossed", data, data["balanceGroupId"]) for data in fresh.values())
