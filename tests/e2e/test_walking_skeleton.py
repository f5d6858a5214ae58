"""A customer created over HTTP travels gateway → customer (RPC) → billing (event), in one trace."""
import time

import pika
import pytest

from chassis.envelope import new_event
from chassis.testing import OtlpReceiver, operator_client

ADA = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
       "address": "12 St James's Square", "city": "London", "state": "LND", "country": "GB",
       "customerType": "regular"}


@pytest.fixture(scope="module")
def otlp():
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def platform(start_services, otlp):
    return start_services("catalog", "customer", "billing", "gateway:api",
                          env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"})


@pytest.fixture(scope="module")
def api(platform):
    with operator_client(platform) as client:
        created = client.post("/api/v1/catalog/customer-types", json={"code": "regular", "name": "Regular"})
        assert created.status_code == 201, created.text
        yield client


def eventually(fetch, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if value:
            return value
        time.sleep(0.1)
    return fetch()


def test_a_customer_created_over_http_is_stored_and_reaches_billing(platform, api):
    response = api.post("/api/v1/customers", json=ADA)
    assert response.status_code == 201, response.text
    customer = response.json()
    assert response.headers["Location"] == f"/api/v1/customers/{customer['id']}"
    assert api.get(response.headers["Location"]).json() == customer

    stored = platform.database("customer").customers.find_one({"_id": customer["id"]})
    assert (stored["first_name"], stored["email"], stored["status"]) == ("Ada", "ada@example.com", "active")
    billed = eventually(lambda: platform.database("billing").customers.find_one({"_id": customer["id"]}))
    assert billed["name"] == "Ada Lovelace"
    assert platform.database("customer").outbox.find_one({"_id": billed["source_event"]})["published_at"]


def test_one_trace_spans_gateway_customer_and_billing(platform, api, otlp):
    customer = api.post("/api/v1/customers", json={**ADA, "email": "traced@example.com"}).json()
    billed = eventually(lambda: platform.database("billing").customers.find_one({"_id": customer["id"]}))
    event_id = billed["source_event"]
    traceparent = platform.database("customer").outbox.find_one({"_id": event_id})["envelope"]["traceparent"]
    trace_id = traceparent.split("-")[1]

    wanted = {"billing.on_customer_created", "customer.create_customer", "POST /api/v1/customers"}

    def spans_by_service():
        # Each process exports its spans in batches of its own: wait for all three, not the first.
        spans = [s for s in otlp.spans if s["trace_id"] == trace_id]
        return {s["name"] for s in spans} >= wanted and spans

    spans = eventually(spans_by_service)
    assert spans, f"spans of trace {trace_id}: {[s for s in otlp.spans if s['trace_id'] == trace_id]}"
    by_id = {s["span_id"]: s for s in spans}
    consumer = next(s for s in spans if s["name"] == "billing.on_customer_created")
    rpc_server = next(s for s in spans if s["name"] == "customer.create_customer")
    http_server = next(s for s in spans if s["name"] == "POST /api/v1/customers")
    assert consumer["parent_span_id"] == rpc_server["span_id"]      # the event continues the RPC's trace
    assert by_id[rpc_server["parent_span_id"]]["service"] == "gateway"  # the RPC continues the HTTP request
    assert http_server["service"] == "gateway"


@pytest.mark.parametrize(
    "body,field",
    [({**ADA, "email": "not-an-email"}, "email"), ({"firstName": "A", "lastName": "B"}, "email"),
     ({**ADA, "firstName": ""}, "firstName"), ({**ADA, "nickname": "x"}, "nickname")],
)
def test_invalid_input_gets_a_problem_naming_the_field_and_stores_nothing(platform, api, body, field):
    before = platform.database("customer").customers.count_documents({})
    response = api.post("/api/v1/customers", json=body)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert field in problem["detail"]
    assert field in [param["name"] for param in problem["invalid_params"]]
    assert platform.database("customer").customers.count_documents({}) == before


def test_every_bad_field_is_reported_at_once(api):
    problem = api.post("/api/v1/customers", json={"firstName": "", "email": "nope", "extra": 1}).json()
    assert {"firstName", "lastName", "email", "extra"} <= {p["name"] for p in problem["invalid_params"]}


def test_an_unknown_customer_is_a_404_problem(api):
    response = api.get("/api/v1/customers/999999")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


def test_the_same_customer_created_event_delivered_twice_is_applied_once(platform):
    data = {"id": 424242, "firstName": "Twice", "lastName": "Sent", "email": "twice@example.com",
            "status": "active", "createdAt": "2026-01-01T00:00:00+00:00"}
    event = new_event("customer.created", "customer", data, subject="424242")
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    for _ in range(2):
        channel.basic_publish("customer.events", "customer.created", event.to_json(),
                              pika.BasicProperties(content_type="application/cloudevents+json", delivery_mode=2))
    connection.close()
    billing = platform.database("billing")
    assert eventually(lambda: billing.customers.find_one({"_id": 424242}))
    time.sleep(1.0)  # give the second delivery time to be consumed
    assert billing.customers.count_documents({"_id": 424242}) == 1
    assert billing.applied_events.count_documents({"_id": f"billing.on_customer_created:{event.id}"}) == 1
