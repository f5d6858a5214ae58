"""Services: one per purchased service type and identifier of a subscription. Operators edit the identifier,
validity, devices, event generators and status; a suspended or terminated service rates nothing, and only
termination frees its identifier (decision 0403)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, ValidationFailed, load_wire
from chassis.mongo import UnitOfWork, transaction
from chassis.periods import check_validity
from rating.adapters.documents import Service
from rating.domain.model import ServiceStatus, check_identifier, check_service_status
from rating.schemas import ServiceEditSchema, ServiceSchema

SOURCE = "rating"
_edit_in = ServiceEditSchema()
_out = ServiceSchema()


def service_created(service: Service, now: datetime) -> tuple[str, dict[str, Any], str]:
    """The `service.created` event of a new service, for `uow.publish_many`."""
    return ("service.created", {
        "id": service.id, "customerId": service.customer_id, "subscriptionId": service.subscription_id,
        "serviceType": service.service_type, "identifier": service.identifier, "createdAt": now.isoformat()},
        service.id)


def _publish_changed(uow: UnitOfWork, service: Service, now: datetime) -> None:
    uow.publish("service.changed", {
        "id": service.id, "customerId": service.customer_id, "subscriptionId": service.subscription_id,
        "serviceType": service.service_type, "identifier": service.identifier, "status": service.status.value,
        "devices": list(service.devices), "eventGenerators": list(service.event_generators),
        "validFrom": service.valid_from.isoformat(),
        "validTo": None if service.valid_to is None else service.valid_to.isoformat(), "at": now.isoformat()},
        subject=service.id)


def _publish_deleted(uow: UnitOfWork, raw: dict[str, Any], reason: str, now: datetime) -> None:
    uow.publish("service.deleted", {
        "id": raw["_id"], "customerId": raw["customer_id"], "subscriptionId": raw["subscription_id"],
        "identifier": raw["identifier"], "reason": reason, "deletedAt": now.isoformat()}, subject=raw["_id"])


def terminate_services(uow: UnitOfWork, query: dict[str, Any], reason: str, now: datetime) -> None:
    """Terminate the matching services still in use: they rate nothing from now and free their identifiers."""
    services = uow.collection(Service)
    for raw in list(services.find({**query, "in_use": True}, session=uow.session)):
        services.update_one({"_id": raw["_id"]}, {"$set": {
            "status": ServiceStatus.TERMINATED.value, "in_use": False, "terminated_at": now, "updated_at": now}},
            session=uow.session)
        _publish_deleted(uow, raw, reason, now)


def list_services(customer_id: int, subscription_id: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"customer_id": customer_id}
    if subscription_id:
        query["subscription_id"] = subscription_id
    if status:
        query["status"] = status
    return [_out.dump(s) for s in Service.objects(**query).order_by("created_at")]


def _owned(uow: UnitOfWork, customer_id: int, service_id: str) -> Service:
    service = uow.find_one(Service, {"_id": service_id})
    if service is None or service.customer_id != customer_id:
        raise NotFound(f"service {service_id} does not exist")
    return service


def get_service(customer_id: int, service_id: str) -> dict[str, Any]:
    return transaction(lambda uow: _out.dump(_owned(uow, customer_id, service_id)), source=SOURCE)


def edit_service(customer_id: int, service_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Seed "Services > Edit": identifier, validity, devices, event generators and status."""
    data = load_wire(_edit_in, patch)
    if not data:
        raise ValidationFailed("nothing to change", {"status": "give identifier, validity, devices or status"})
    if "identifier" in data:
        check_identifier(data["identifier"])
    now = utc_now()

    def store(uow: UnitOfWork) -> dict[str, Any]:
        service = _owned(uow, customer_id, service_id)
        if service.status is ServiceStatus.TERMINATED:
            raise Conflict(f"service {service_id} is terminated", {"status": "a terminated service is final"})
        wanted = data.get("status", service.status)
        check_service_status(service.status, wanted)
        for name in ("identifier", "devices", "event_generators", "valid_from", "valid_to"):
            if name in data:
                setattr(service, name, data[name])
        check_validity(service.valid_from, service.valid_to)
        service.status, service.updated_at = wanted, now
        if wanted is ServiceStatus.TERMINATED:
            service.in_use, service.terminated_at = False, now
        try:
            uow.replace(service)
        except DuplicateKeyError as exc:
            raise Conflict(f"service identifier {service.identifier!r} is already in use for {service.service_type}",
                           {"identifier": "is already used by an active service"}) from exc
        _publish_changed(uow, service, now)
        if wanted is ServiceStatus.TERMINATED:
            _publish_deleted(uow, service.to_mongo().to_dict() | {"_id": service.id}, "terminated", now)
        return _out.dump(uow.find_one(Service, {"_id": service.id}))

    return transaction(store, source=SOURCE)
