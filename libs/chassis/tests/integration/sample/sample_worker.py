"""A worker used only by the nameko adapter tests."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opentelemetry import trace

from chassis.envelope import CloudEvent
from chassis.errors import NotFound, ValidationFailed
from chassis.idempotency import apply_once
from chassis.nameko_adapter import MongoConnection, WorkerBase, cloudevent_handler, rpc


class SampleService(WorkerBase):
    name = "sample"
    rpc_contract = Path(__file__).with_name("sample.rpc.yaml")
    db = MongoConnection()

    @rpc
    def fail(self, kind: str) -> None:
        if kind == "not-found":
            raise NotFound("no such thing", {"thingId": "unknown"})
        raise ValidationFailed("bad thing", {"thing.name": "too long"})

    @rpc
    def trace_id(self) -> str:
        return format(trace.get_current_span().get_span_context().trace_id, "032x")

    @cloudevent_handler("customer.created")
    def on_customer_created(self, event: CloudEvent) -> None:
        email = event.data.get("email")
        if email == "poison@example.com":
            raise ValidationFailed("this event can never be applied")
        if email == "flaky@example.com":
            from chassis.mongo import database

            attempts = database().attempts.find_one_and_update(
                {"_id": event.id}, {"$inc": {"n": 1}}, upsert=True, return_document=True)
            if attempts["n"] == 1:
                raise ConnectionError("database blip")  # transient: must be retried, not dropped
        apply_once("sample.on_customer_created", event,
                   lambda uow: uow.collection("seen").insert_one(
                       {"_id": event.id, "email": email, "at": datetime.now(UTC),
                        "traceparent": event.traceparent}, session=uow.session))
