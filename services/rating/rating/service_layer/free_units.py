"""Free units of purchased products, as balances of the subscription's balance group (the balances use case
owns their storage; decision 0401). Granted, expired and discarded in the caller's transaction."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from chassis.money import to_storage
from chassis.mongo import UnitOfWork
from rating.adapters.documents import Balance, BalanceGroup
from rating.domain.balances import ValidityKind
from rating.domain.model import free_units_of
from rating.service_layer.balances import Grant, grant_balance, new_balance


def balance_id(product: Any) -> str:
    """One balance per purchased product, so a retried purchase grants nothing twice."""
    return f"free:{product.id}"


def source(subscription: Any) -> str:
    return f"subscription:{subscription.id}"


def grant(uow: UnitOfWork, subscription: Any, products: list[Any], now: datetime) -> None:
    """Credit each purchased service product's free units, valid as long as the product."""
    for product in products:
        units = free_units_of(product)
        if units:
            grant_balance(uow, _grant(subscription, product, units))


def grant_new(uow: UnitOfWork, subscription: Any, group: BalanceGroup, products: list[Any]) -> None:
    """`grant` for the products of a subscription created in this transaction, from the group it has read:
    no earlier grant can exist for new products, so their balances are written in one round trip, with no
    look-ups."""
    uow.insert_many([new_balance(uow, group, _grant(subscription, product, units))
                     for product in products if (units := free_units_of(product))])


def _grant(subscription: Any, product: Any, units: Decimal) -> Grant:
    return Grant(
        balance_group_id=subscription.balance_group_id, resource=product.resource, amount=-units,
        validity=ValidityKind.INFINITE if product.valid_to is None else ValidityKind.UNTIL,
        valid_from=product.valid_from, valid_to=product.valid_to, source=source(subscription),
        bill_item=product.code, id=balance_id(product))


def follow_edit(uow: UnitOfWork, subscription: Any, product: Any, units_before: Decimal | None) -> None:
    """An edited product's free units: the credit moves by the difference (what was used stays used) and
    lasts as long as the product now does."""
    units = free_units_of(product) or Decimal(0)
    delta = units - (units_before or Decimal(0))
    balances = uow.collection(Balance)
    if balances.find_one({"_id": balance_id(product)}, session=uow.session) is None:
        grant(uow, subscription, [product], product.added_at)
        return
    change: dict[str, Any] = {"$set": {"valid_to": product.valid_to, "validity": (
        ValidityKind.INFINITE if product.valid_to is None else ValidityKind.UNTIL).value}}
    if delta:
        change["$inc"] = {"amount": to_storage(-delta), "initial": to_storage(-delta)}
    balances.update_one({"_id": balance_id(product)}, change, session=uow.session)


def expire(uow: UnitOfWork, products: list[Any], at: datetime) -> None:
    """The free units of ended products stop counting at `at` (what is left is not carried anywhere)."""
    uow.collection(Balance).update_many(
        {"_id": {"$in": [balance_id(p) for p in products]}, "$or": [{"valid_to": None}, {"valid_to": {"$gt": at}}]},
        {"$set": {"valid_to": at, "validity": ValidityKind.UNTIL.value}}, session=uow.session)


def discard(uow: UnitOfWork, subscription: Any) -> None:
    """Saga compensation: the subscription never happened, so neither did its grants."""
    uow.collection(Balance).delete_many({"source": source(subscription)}, session=uow.session)
