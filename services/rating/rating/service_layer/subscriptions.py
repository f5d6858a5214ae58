"""Subscription use cases (TMF637 product inventory): purchase, add-on bundles and vouchers, product edits and
cancellations, plan transitions and cancellation. A change, its services, its free-unit balances and its
events commit in one transaction."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo.errors import BulkWriteError

from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, transaction
from chassis.periods import check_validity
from rating.adapters.documents import BalanceGroup, PurchasedProduct, Service, Subscription
from rating.domain.model import (
    Change,
    ProductStatus,
    ProductType,
    SubscriptionStatus,
    check_products,
    free_units_of,
    validity_end,
)
from rating.domain.proration import transition_preview
from rating.domain.snapshot import cancellation_event, created_service, subscription_event
from rating.schemas import (
    AddProductsSchema,
    PlanTransitionSchema,
    ProductEditSchema,
    ServiceSchema,
    SubscriptionCreateSchema,
    SubscriptionSchema,
)
from rating.service_layer import free_units
from rating.service_layer.services import service_created, terminate_services

SOURCE = "rating"
KIND = "subscription"
DUPLICATE_KEY = 11000
# Where a purchased product came from: a plan transition ends only the plan's own products.
PLAN, PROMOTION = "plan", "promotion"
_in = SubscriptionCreateSchema()
_add_in = AddProductsSchema()
_edit_in = ProductEditSchema()
_transition_in = PlanTransitionSchema()
_out = SubscriptionSchema()
_service_out = ServiceSchema()


def _summary(subscription: Subscription, services: list[Service]) -> dict[str, Any]:
    wire = _out.dump(subscription)
    wire["services"] = [_service_out.dump(s) for s in services]
    return wire


def _services(uow: UnitOfWork, subscription_id: str) -> list[Service]:
    return [Service._from_son(s) for s in uow.collection(Service).find(
        {"subscription_id": subscription_id}, session=uow.session).sort("created_at")]


def _read_back(uow: UnitOfWork, subscription_id: str) -> dict[str, Any]:
    # Read back inside the transaction: MongoDB keeps milliseconds, so the answer shows what a later read shows.
    return _summary(uow.find_one(Subscription, {"_id": subscription_id}), _services(uow, subscription_id))


def _owned(uow: UnitOfWork, subscription_id: str, customer_id: int | None, *, active: bool = True) -> Subscription:
    """The subscription, as NotFound for another customer's id (its existence is none of the caller's business)."""
    subscription = uow.find_one(Subscription, {"_id": subscription_id})
    if subscription is None or (customer_id is not None and subscription.customer_id != customer_id):
        raise NotFound(f"subscription {subscription_id} does not exist")
    if active and subscription.status is not SubscriptionStatus.ACTIVE:
        raise Conflict(f"subscription {subscription_id} is {subscription.status.value}",
                       {"subscriptionId": f"is {subscription.status.value}"})
    return subscription


class _Purchase:
    """Turns loaded product input into stored products and the services they need (one per service type and
    identifier within a subscription: the plan's data and a voucher's extra data are rated on one service)."""

    def __init__(self, subscription_id: str, customer_id: int, valid_from: datetime, now: datetime,
                 services: list[Service], prefix: str):
        self.subscription_id, self.customer_id = subscription_id, customer_id
        self.valid_from, self.now, self.prefix = valid_from, now, prefix
        self.by_key = {(s.service_type, s.identifier): s for s in services if s.in_use}
        self.new_services: list[tuple[int, Service]] = []

    def product(self, index: int, data: dict[str, Any], product_id: str, origin: str) -> PurchasedProduct:
        service_id = None
        if data["purchased"] and data["type"] is ProductType.SERVICE:
            key = (data["service_type"], data["service_identifier"])
            if key not in self.by_key:
                self.by_key[key] = Service(
                    id=str(data.get("service_id") or uuid.uuid4()), customer_id=self.customer_id,
                    subscription_id=self.subscription_id, product_code=data["code"], service_type=key[0],
                    identifier=key[1], valid_from=self.valid_from, created_at=self.now)
                self.new_services.append((index, self.by_key[key]))
            service_id = self.by_key[key].id
        validity = data.get("validity") or {}
        return PurchasedProduct(
            id=product_id, bundle_code=data["bundle_code"], bundle_version=data["bundle_version"],
            promo_code=data["promo_code"], code=data["code"], version=data["version"], name=data["name"],
            type=data["type"], service_type=data["service_type"], quantity=data["quantity"], value=data["value"],
            validity_unit=validity.get("unit"), validity_count=validity.get("count"), purchased=data["purchased"],
            resource=data["resource"], free_units=data["free_units"], service_id=service_id,
            optional=data["optional"], currency=data["currency"], interval=data["interval"] or {},
            proration=data["proration"], tax=data["tax"], gl_code=data["gl_code"], discount=data["discount"] or {},
            origin=PROMOTION if origin == PLAN and data["promo_code"] else origin,
            status=ProductStatus.ACTIVE, valid_from=self.valid_from,
            valid_to=validity_end(self.valid_from, validity), added_at=self.now)

    def store_services(self, uow: UnitOfWork, announce: bool = True) -> list[Service]:
        """Insert the new services in one round trip and announce each (`service.created`), unless the caller
        lists them in its own event (`announce=False`); returns them as stored."""
        try:
            stored = uow.insert_many([service for _, service in self.new_services])
        except BulkWriteError as exc:
            # The partial unique index decides, so concurrent purchases cannot both win an identifier.
            refused = exc.details["writeErrors"][0]
            if refused.get("code") != DUPLICATE_KEY:
                raise
            index, service = self.new_services[refused["index"]]
            raise Conflict(
                f"service identifier {service.identifier!r} is already in use for {service.service_type}",
                {f"{self.prefix}.{index}.serviceIdentifier": "is already used by an active service"}) from exc
        if announce:
            uow.publish_many([service_created(service, self.now) for _, service in self.new_services])
        return stored


def create_subscription(payload: dict[str, Any]) -> dict[str, Any]:
    data = load_wire(_in, payload)
    check_products(data["products"])
    data["id"] = str(data["id"] or uuid.uuid4())
    now = utc_now()
    valid_from = data["valid_from"] or now

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = existing_or_refused(uow, Subscription, KIND, data["id"])
        if existing is not None:
            if existing.customer_id != data["customer_id"]:
                raise Conflict(f"subscription {data['id']} belongs to another customer")
            return _read_back(uow, existing.id)
        group = uow.find_one(BalanceGroup, {"_id": data["balance_group_id"]})
        if group is None or group.customer_id != data["customer_id"]:
            raise ValidationFailed("the subscription needs a balance group of the same customer",
                                   {"balanceGroupId": "is not a balance group of this customer"})
        purchase = _Purchase(data["id"], data["customer_id"], valid_from, now, [], "products")
        products = [purchase.product(i, p, str(uuid.uuid4()), PLAN) for i, p in enumerate(data["products"])]
        subscription = Subscription(
            id=data["id"], customer_id=data["customer_id"], balance_group_id=group.id,
            billing_profile_id=data["billing_profile_id"], plan_code=data["plan"]["code"],
            plan_version=data["plan"]["version"], plan_name=data["plan"]["name"], products=products,
            promo_codes=data["promo_codes"], valid_from=valid_from, created_at=now,
            payment_type=data.get("payment_type"))
        stored = uow.insert(subscription)
        # The new services travel in subscription.created (decision 0405): one event per purchase, not 1 + n.
        services = purchase.store_services(uow, announce=False)
        free_units.grant_new(uow, subscription, group, products)
        uow.publish("subscription.created", {**subscription_event(subscription, now),
                                             "services": [created_service(s) for s in services]},
                    subject=subscription.id)
        # Built from what was written (as stored), not read back: a later read shows the same.
        return _summary(stored, services)

    return transaction(store, source=SOURCE)


def add_products(customer_id: int, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Buy more on a running subscription: an add-on bundle (`change: addon`) or the bundles of redeemed
    vouchers (`change: voucher`). Idempotent on `requestId`: a retried request adds nothing twice."""
    data = load_wire(_add_in, payload)
    check_products(data["products"])
    request_id = str(data["request_id"] or uuid.uuid4())
    now = utc_now()

    def store(uow: UnitOfWork) -> dict[str, Any]:
        subscription = _owned(uow, subscription_id, customer_id)
        ids = [f"{request_id}:{i}" for i in range(len(data["products"]))]
        if any(p.id in ids for p in subscription.products):
            return _read_back(uow, subscription.id)
        valid_from = max(data["valid_from"] or now, subscription.valid_from)
        purchase = _Purchase(subscription.id, subscription.customer_id, valid_from, now,
                             _services(uow, subscription.id), "products")
        added = [purchase.product(i, p, ids[i], data["change"].value) for i, p in enumerate(data["products"])]
        subscription.products.extend(added)
        subscription.promo_codes.extend(c for c in data["promo_codes"] if c not in subscription.promo_codes)
        _save_changed(uow, subscription, data["change"], now)
        purchase.store_services(uow)
        free_units.grant(uow, subscription, added, now)
        return _read_back(uow, subscription.id)

    return transaction(store, source=SOURCE)


def _save_changed(uow: UnitOfWork, subscription: Subscription, change: Change, now: datetime) -> None:
    subscription.changed_at = now
    uow.replace(subscription)
    uow.publish("subscription.changed", subscription_event(subscription, now, change.value), subject=subscription.id)


def _product(subscription: Subscription, product_id: str) -> PurchasedProduct:
    product = next((p for p in subscription.products if p.id == product_id), None)
    if product is None:
        raise NotFound(f"subscription {subscription.id} has no product {product_id}")
    if product.status is not ProductStatus.ACTIVE or not product.purchased:
        raise Conflict(f"product {product_id} is not an active purchase", {"productId": "is not active"})
    return product


def edit_product(customer_id: int, subscription_id: str, product_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Quantity, value and validity of one purchased product (seed: Edit product)."""
    data = load_wire(_edit_in, patch)
    if not data:
        raise ValidationFailed("nothing to change", {"quantity": "give quantity, value or validity"})
    now = utc_now()

    def store(uow: UnitOfWork) -> dict[str, Any]:
        subscription = _owned(uow, subscription_id, customer_id)
        product = _product(subscription, product_id)
        units_before = free_units_of(product)
        if "quantity" in data:
            product.quantity = data["quantity"]
        if "value" in data:
            product.value = data["value"]
        if "validity" in data:
            validity = data["validity"] or {}
            product.validity_unit, product.validity_count = validity.get("unit"), validity.get("count")
            product.valid_to = validity_end(product.valid_from, validity)
            if product.valid_to is not None and product.valid_to <= now:
                raise ValidationFailed("the product would already be expired",
                                       {"validity": "must end in the future"})
        free_units.follow_edit(uow, subscription, product, units_before)
        _save_changed(uow, subscription, Change.PRODUCT_EDITED, now)
        return _read_back(uow, subscription.id)

    return transaction(store, source=SOURCE)


def cancel_product(customer_id: int, subscription_id: str, product_id: str) -> dict[str, Any]:
    """Cancel one purchased product now. A service whose last product goes is terminated (it rates nothing);
    a subscription keeps at least one product."""
    now = utc_now()

    def store(uow: UnitOfWork) -> dict[str, Any]:
        subscription = _owned(uow, subscription_id, customer_id)
        product = _product(subscription, product_id)
        _end_product(product, now)
        free_units.expire(uow, [product], now)
        if not _active(subscription.products):
            raise Conflict("the subscription's last product cannot be cancelled: cancel the subscription",
                           {"productId": "is the last active product"})
        _terminate_orphaned_services(uow, subscription, "product cancelled", now)
        _save_changed(uow, subscription, Change.PRODUCT_CANCELLED, now)
        return _read_back(uow, subscription.id)

    return transaction(store, source=SOURCE)


def _end_product(product: PurchasedProduct, now: datetime) -> None:
    product.status, product.cancelled_at = ProductStatus.CANCELLED, now
    product.valid_to = now if product.valid_to is None or product.valid_to > now else product.valid_to


def _active(products: list[PurchasedProduct]) -> list[PurchasedProduct]:
    return [p for p in products if p.purchased and p.status is ProductStatus.ACTIVE]


def _terminate_orphaned_services(uow: UnitOfWork, subscription: Subscription, reason: str, now: datetime) -> None:
    used = {p.service_id for p in _active(subscription.products) if p.service_id}
    terminate_services(uow, {"subscription_id": subscription.id, "_id": {"$nin": list(used)}}, reason, now)


def _transition(uow: UnitOfWork, data: dict[str, Any], customer_id: int, subscription_id: str,
                now: datetime) -> tuple[Subscription, list[PurchasedProduct], _Purchase, datetime]:
    """The subscription and the new plan's products as they would be bought at the transition instant."""
    subscription = _owned(uow, subscription_id, customer_id)
    at = data["valid_from"] or now
    if at < subscription.valid_from:
        raise ValidationFailed("a transition cannot start before the subscription",
                               {"validFrom": "must not be before the subscription started"})
    check_validity(at, data["valid_to"])
    purchase = _Purchase(subscription.id, subscription.customer_id, at, now, _services(uow, subscription.id),
                         "products")
    products = [purchase.product(i, p, str(uuid.uuid4()), PLAN) for i, p in enumerate(data["products"])]
    for product in products:
        if data["valid_to"] is not None and (product.valid_to is None or product.valid_to > data["valid_to"]):
            product.valid_to = data["valid_to"]
    return subscription, products, purchase, at


def preview_plan_transition(customer_id: int, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a transition would credit and charge; changes nothing."""
    data = load_wire(_transition_in, payload)
    check_products(data["products"])

    def read(uow: UnitOfWork) -> dict[str, Any]:
        subscription, products, _, at = _transition(uow, data, customer_id, subscription_id, utc_now())
        preview = transition_preview(_active(subscription.products), products, subscription.valid_from, at)
        return {"subscriptionId": subscription.id, "fromPlan": {"code": subscription.plan_code,
                                                                "version": subscription.plan_version},
                "toPlan": {"code": data["plan"]["code"], "version": data["plan"]["version"]}, **preview}

    return transaction(read, source=SOURCE)


def transition_plan(customer_id: int, subscription_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Move to another plan (or version) at `validFrom` (default now): the old plan's products end, the new
    plan's are bought; services of a service type the new plan still has keep their identifiers; the others
    are terminated. The result carries the proration preview billing will charge."""
    data = load_wire(_transition_in, payload)
    check_products(data["products"])
    now = utc_now()

    def store(uow: UnitOfWork) -> dict[str, Any]:
        subscription, products, purchase, at = _transition(uow, data, customer_id, subscription_id, now)
        old = _active(subscription.products)
        preview = transition_preview(old, products, subscription.valid_from, at)
        # Products from add-ons, vouchers and coupons were bought on their own: they stay.
        ended = [p for p in old if p.origin == PLAN]
        for product in ended:
            _end_product(product, at)
        free_units.expire(uow, ended, at)
        subscription.plan_history.append({"code": subscription.plan_code, "version": subscription.plan_version,
                                          "name": subscription.plan_name, "until": at})
        subscription.plan_code, subscription.plan_version = data["plan"]["code"], data["plan"]["version"]
        subscription.plan_name = data["plan"]["name"]
        subscription.products.extend(products)
        _terminate_orphaned_services(uow, subscription, "plan transition", now)
        _save_changed(uow, subscription, Change.PLAN_TRANSITION, now)
        purchase.store_services(uow)
        free_units.grant(uow, subscription, products, now)
        return {**_read_back(uow, subscription.id), "proration": preview}

    return transaction(store, source=SOURCE)


def get_subscription(subscription_id: str, customer_id: int | None = None) -> dict[str, Any]:
    return transaction(lambda uow: _read_back(uow, _owned(uow, subscription_id, customer_id, active=False).id),
                       source=SOURCE)


def list_subscriptions(customer_id: int) -> list[dict[str, Any]]:
    subscriptions = list(Subscription.objects(customer_id=customer_id).order_by("created_at"))
    services: dict[str, list[Service]] = {}
    for service in Service.objects(customer_id=customer_id).order_by("created_at"):
        services.setdefault(service.subscription_id, []).append(service)
    return [_summary(s, services.get(s.id, [])) for s in subscriptions]


def cancel_subscription(subscription_id: str, reason: str, customer_id: int | None = None) -> dict[str, Any]:
    """End a subscription now: it stays on record as cancelled; its services are terminated at once (they rate
    nothing and free their identifiers); its products end; its balances expire per their resource's policy."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("a cancellation needs a reason", {"reason": "must not be empty"})
    now = utc_now()

    def cancel(uow: UnitOfWork) -> dict[str, Any]:
        subscription = _owned(uow, subscription_id, customer_id, active=False)
        if subscription.status is SubscriptionStatus.ACTIVE:
            ended = _active(subscription.products)
            for product in ended:
                _end_product(product, now)
            free_units.expire(uow, ended, now)
            subscription.status, subscription.cancelled_at, subscription.cancel_reason = (
                SubscriptionStatus.CANCELLED, now, reason)
            subscription.changed_at = now
            uow.replace(subscription)
            terminate_services(uow, {"subscription_id": subscription.id}, reason, now)
            uow.publish("subscription.cancelled", cancellation_event(subscription, now), subject=subscription.id)
        return _read_back(uow, subscription.id)

    return transaction(cancel, source=SOURCE)


def discard_subscription(subscription_id: str, reason: str) -> bool:
    """Saga compensation: remove a subscription created moments ago and its services, leaving nothing behind.
    Idempotent (an absent subscription is fine); returns whether it existed."""
    now = utc_now()

    def remove(uow: UnitOfWork) -> bool:
        subscription = uow.find_one(Subscription, {"_id": subscription_id})
        if subscription is not None:
            terminate_services(uow, {"subscription_id": subscription_id}, reason, now)
            for service in uow.collection(Service).find({"subscription_id": subscription_id}, {"_id": 1},
                                                         session=uow.session):
                discard(uow, Service, "service", service["_id"])
            free_units.discard(uow, subscription)
            if subscription.status is SubscriptionStatus.ACTIVE:
                uow.publish("subscription.cancelled", cancellation_event(subscription, now), subject=subscription_id)
        return discard(uow, Subscription, KIND, subscription_id)

    return transaction(remove, source=SOURCE)
