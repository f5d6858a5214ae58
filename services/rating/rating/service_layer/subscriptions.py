"""Subscription and service use cases: a subscription and its services are stored in one transaction."""
from __future__ import annotations

import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now
from chassis.discarded import discard, existing_or_refused
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, get_or_not_found, transaction
from rating.adapters.documents import BalanceGroup, PurchasedProduct, Service, Subscription
from rating.domain.model import ProductType, ServiceStatus, SubscriptionStatus, check_products
from rating.schemas import ServiceSchema, SubscriptionCreateSchema, SubscriptionSchema

SOURCE = "rating"
KIND = "subscription"
_in = SubscriptionCreateSchema()
_out = SubscriptionSchema()
_service_out = ServiceSchema()


def _summary(subscription: Subscription, services: list[Service]) -> dict[str, Any]:
    wire = _out.dump(subscription)
    wire["services"] = [_service_out.dump(s) for s in services]
    return wire


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
            return _summary(existing, list(Service.objects(subscription_id=existing.id)))
        group = uow.find_one(BalanceGroup, {"_id": data["balance_group_id"]})
        if group is None or group.customer_id != data["customer_id"]:
            raise ValidationFailed("the subscription needs a balance group of the same customer",
                                   {"balanceGroupId": "is not a balance group of this customer"})
        products, services, by_key, positions = [], [], {}, []
        for index, product in enumerate(data["products"]):
            validity = product.get("validity") or {}
            service_id = None
            if product["purchased"] and product["type"] is ProductType.SERVICE:
                # Products of one service type under one identifier (e.g. minutes from the plan and from a
                # voucher's add-on) are rated on the same service.
                key = (product["service_type"], product["service_identifier"])
                if key not in by_key:
                    by_key[key] = Service(
                        id=str(product.get("service_id") or uuid.uuid4()), customer_id=data["customer_id"],
                        subscription_id=data["id"], product_code=product["code"], service_type=key[0],
                        identifier=key[1], valid_from=valid_from, created_at=now)
                    services.append(by_key[key])
                    positions.append(index)
                service_id = by_key[key].id
            products.append(PurchasedProduct(
                bundle_code=product["bundle_code"], bundle_version=product["bundle_version"],
                promo_code=product["promo_code"], code=product["code"],
                version=product["version"], name=product["name"], type=product["type"],
                service_type=product["service_type"], quantity=product["quantity"], value=product["value"],
                validity_unit=validity.get("unit"), validity_count=validity.get("count"),
                purchased=product["purchased"], resource=product["resource"], free_units=product["free_units"],
                service_id=service_id))
        subscription = Subscription(
            id=data["id"], customer_id=data["customer_id"], balance_group_id=group.id,
            billing_profile_id=data["billing_profile_id"], plan_code=data["plan"]["code"],
            plan_version=data["plan"]["version"], plan_name=data["plan"]["name"], products=products,
            promo_codes=data["promo_codes"], valid_from=valid_from, created_at=now)
        uow.insert(subscription)
        for index, service in zip(positions, services, strict=True):
            _insert_service(uow, service, index)
        uow.publish("subscription.created", {
            "id": subscription.id, "customerId": subscription.customer_id, "planCode": subscription.plan_code,
            "planVersion": subscription.plan_version, "balanceGroupId": subscription.balance_group_id,
            "createdAt": now.isoformat()}, subject=subscription.id)
        for service in services:
            uow.publish("service.created", {
                "id": service.id, "customerId": service.customer_id, "subscriptionId": service.subscription_id,
                "serviceType": service.service_type, "identifier": service.identifier,
                "createdAt": now.isoformat()}, subject=service.id)
        return _summary(uow.find_one(Subscription, {"_id": subscription.id}),
                        [uow.find_one(Service, {"_id": s.id}) for s in services])

    return transaction(store, source=SOURCE)


def _insert_service(uow: UnitOfWork, service: Service, index: int) -> None:
    try:
        uow.insert(service)
    except DuplicateKeyError as exc:
        # The partial unique index on active identifiers decides, so concurrent onboardings cannot both win.
        raise Conflict(f"service identifier {service.identifier!r} is already in use for {service.service_type}",
                       {f"products.{index}.serviceIdentifier": "is already used by an active service"}) from exc


def get_subscription(subscription_id: str) -> dict[str, Any]:
    subscription = get_or_not_found(Subscription, subscription_id, "subscription")
    return _summary(subscription, list(Service.objects(subscription_id=subscription_id)))


def list_subscriptions(customer_id: int) -> list[dict[str, Any]]:
    return [_summary(s, list(Service.objects(subscription_id=s.id)))
            for s in Subscription.objects(customer_id=customer_id).order_by("created_at")]


def _end_services(uow: UnitOfWork, subscription: dict[str, Any], reason: str, *, delete: bool) -> None:
    now = utc_now()
    query: dict[str, Any] = {"subscription_id": subscription["_id"]}
    if not delete:
        query["status"] = ServiceStatus.ACTIVE.value
    for service in list(uow.collection(Service).find(query, session=uow.session)):
        was_active = service["status"] == ServiceStatus.ACTIVE.value
        if delete:
            discard(uow, Service, "service", service["_id"])
        else:
            uow.collection(Service).update_one(
                {"_id": service["_id"]},
                {"$set": {"status": ServiceStatus.DELETED.value, "deleted_at": now}}, session=uow.session)
        if was_active:
            uow.publish("service.deleted", {
                "id": service["_id"], "customerId": service["customer_id"], "subscriptionId": subscription["_id"],
                "identifier": service["identifier"], "reason": reason, "deletedAt": now.isoformat()},
                subject=service["_id"])
    if subscription["status"] == SubscriptionStatus.ACTIVE.value:
        uow.publish("subscription.cancelled", {
            "id": subscription["_id"], "customerId": subscription["customer_id"], "reason": reason,
            "cancelledAt": now.isoformat()}, subject=subscription["_id"])


def cancel_subscription(subscription_id: str, reason: str) -> dict[str, Any]:
    """End a subscription: it stays on record as cancelled; its services are deleted and free their identifiers."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("a cancellation needs a reason", {"reason": "must not be empty"})

    def cancel(uow: UnitOfWork) -> dict[str, Any]:
        raw = uow.collection(Subscription).find_one({"_id": subscription_id}, session=uow.session)
        if raw is None:
            raise NotFound(f"subscription {subscription_id} does not exist")
        if raw["status"] == SubscriptionStatus.ACTIVE.value:
            _end_services(uow, raw, reason, delete=False)
            uow.collection(Subscription).update_one({"_id": subscription_id}, {"$set": {
                "status": SubscriptionStatus.CANCELLED.value, "cancelled_at": utc_now(),
                "cancel_reason": reason}}, session=uow.session)
        return {"id": subscription_id}

    transaction(cancel, source=SOURCE)
    return get_subscription(subscription_id)


def discard_subscription(subscription_id: str, reason: str) -> bool:
    """Saga compensation: remove a subscription created moments ago and its services, leaving nothing behind.
    Idempotent (an absent subscription is fine); returns whether it existed."""

    def remove(uow: UnitOfWork) -> bool:
        raw = uow.collection(Subscription).find_one({"_id": subscription_id}, session=uow.session)
        if raw is not None:
            _end_services(uow, raw, reason, delete=True)
        return discard(uow, Subscription, KIND, subscription_id)

    return transaction(remove, source=SOURCE)
