"""Billing end to end: real catalog, customer, billing workers and the gateway API; rating's events on the broker."""
import csv
import io
import time
import uuid

import pika
import pytest
from pypdf import PdfReader

from chassis.envelope import encode, exchange_for, new_event
from chassis.testing import operator_client

# Four real processes, the demo catalog and bill runs: more than the default 300 s on a loaded machine.
pytestmark = pytest.mark.timeout(900)
JAN_10 = "2026-01-10T00:00:00+00:00"
FEB_1 = "2026-02-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "customer", "billing", "gateway:api")
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def client(platform):
    with operator_client(platform) as client:
        yield client


def customer(client, first="Ana", last="Novak"):
    created = client.post("/api/v1/customers", json={
        "firstName": first, "lastName": last, "email": f"{uuid.uuid4().hex[:10]}@example.com",
        "phone": "+386 40 111 222", "address": "Slovenska 1", "city": "Ljubljana", "state": "LJ", "country": "SI",
        "customerType": "regular", "paymentInfo": {"method": "invoice"}})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def profile(client, customer_id, **overrides):
    created = client.post(f"/api/v1/customers/{customer_id}/billing-profiles", json={
        "paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1, "validFrom": JAN_10,
        **overrides})
    assert created.status_code == 201, created.text
    return created.json()


def publish(platform, event_type, data):
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange_for(event_type), exchange_type="topic", durable=True)
    channel.basic_publish(exchange_for(event_type), event_type, encode(new_event(event_type, "rating", data).to_dict()),
                          pika.BasicProperties(content_type="application/cloudevents+json"))
    connection.close()


def charge(platform, profile_id, customer_id, amount):
    publish(platform, "usage.charged", {
        "billingProfileId": profile_id, "customerId": customer_id, "billId": None, "balanceGroupId": "bg",
        "serviceId": "svc", "serviceIdentifier": "38640111222", "serviceType": "voice", "resource": "EUR",
        "units": "12", "amount": amount, "currency": "EUR", "events": 4, "late": False,
        "firstStart": "2026-01-12T08:00:00+00:00", "lastStart": "2026-01-12T09:00:00+00:00", "tax": "VAT"})


def eventually(probe, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def bills_of(client, profile_id):
    return {b["id"]: b["status"] for b in client.get(f"/api/v1/billing-profiles/{profile_id}/bills").json()}


def test_the_seed_example_through_run_billing_with_usage_preview_and_invoice_documents(client, platform):
    cid = customer(client)
    created = profile(client, cid)
    view = client.get(f"/api/v1/billing-profiles/{created['id']}").json()
    assert (view["billingDay"], view["paymentType"], view["resource"], view["eventType"]) == (
        1, "postpaid", "EUR", "monthly")
    assert view["totalPendingDue"] == "0" and view["creditBalance"] == "0"
    assert view["paymentInformation"]["method"] == "invoice"
    active, inactive = view["bills"]["active"]["id"], view["bills"]["inactive"]["id"]
    charge(platform, created["id"], cid, "50")
    info = eventually(lambda: client.get(f"/api/v1/bills/{active}").json()["items"])
    assert [(i["kind"], i["amount"], i["units"]) for i in info] == [("usage", "50", "12")]
    before = bills_of(client, created["id"])
    preview = client.get(f"/api/v1/billing-profiles/{created['id']}/invoice-preview", params={"details": "true"})
    assert preview.status_code == 200 and preview.json()["amount"] == "59.50"  # 50 + 19 % VAT
    assert [e["events"] for e in preview.json()["events"]] == [4]
    assert bills_of(client, created["id"]) == before and client.get(f"/api/v1/customers/{cid}/invoices").json() == []

    billed = client.post(f"/api/v1/billing-profiles/{created['id']}/run-billing", json={"asOf": FEB_1})
    assert billed.status_code == 200 and billed.json()["status"] == "billed", billed.text
    assert bills_of(client, created["id"]) == {active: "billing", inactive: "active", inactive + 1: "inactive"}
    again = client.post(f"/api/v1/billing-profiles/{created['id']}/run-billing", json={"asOf": FEB_1})
    assert again.json()["status"] == "not_due"

    [invoice] = client.get(f"/api/v1/customers/{cid}/invoices").json()
    assert (invoice["amount"], invoice["dueAmount"], invoice["status"]) == ("59.50", "59.50", "billing")
    assert client.get(f"/api/v1/billing-profiles/{created['id']}").json()["totalPendingDue"] == "59.50"
    pdf = client.get(f"/api/v1/customers/{cid}/invoices/{invoice['id']}", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert invoice["number"] in text and "59,50" in text  # Slovenian money format
    page = client.get(f"/api/v1/customers/{cid}/invoices/{invoice['id']}", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and invoice["number"] in page.text
    rows = list(csv.reader(io.StringIO(client.get(f"/api/v1/customers/{cid}/invoices",
                                                  headers={"Accept": "text/csv"}).text)))
    assert rows[0][0] == "number" and rows[1][0] == invoice["number"] and rows[1][5] == "59.50"
    assert client.get(f"/api/v1/customers/{cid + 1000}/invoices/{invoice['id']}").status_code == 404
    entries = client.get("/api/v1/audit", params={"target": f"billing-profile/{created['id']}"}).json()
    assert {e["operation"] for e in entries} >= {"gateway.api.billing.run_billing"}


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_bad_billing_input_is_a_problem_naming_the_field_and_changes_nothing(client, platform):
    cid = customer(client)
    unit = problem(client.post(f"/api/v1/customers/{cid}/billing-profiles", json={
        "paymentType": "postpaid", "resource": "MIN", "interval": "monthly", "billingDay": 1}), 400)
    assert [p["name"] for p in unit["invalid_params"]] == ["resource"]
    assert client.get(f"/api/v1/customers/{cid}/billing-profiles").json() == []
    created = profile(client, cid)
    bill_id = client.get(f"/api/v1/billing-profiles/{created['id']}").json()["bills"]["active"]["id"]
    missing = problem(client.post(f"/api/v1/bills/{bill_id}/adjustments", json={"amount": "5"}), 400)
    assert "billItem" in {p["name"] for p in missing["invalid_params"]}
    client.post(f"/api/v1/billing-profiles/{created['id']}/run-billing", json={"asOf": FEB_1})
    closed = problem(client.post(f"/api/v1/bills/{bill_id}/adjustments", json={"amount": "5", "billItem": "x"}), 409)
    assert "billId" in {p["name"] for p in closed["invalid_params"]}
    assert client.get(f"/api/v1/bills/{bill_id}").json()["items"] == []
    empty = client.get(f"/api/v1/billing-profiles/{created['id']}/invoice-preview").json()
    assert (empty["lines"], empty["amount"]) == ([], "0.00")


def test_a_hierarchy_member_is_billed_first_in_a_bill_run_and_its_total_moves_to_the_owner(client, platform):
    owner, member = customer(client, "Olga", f"Owner{uuid.uuid4().hex[:6]}"), customer(client, "Mia", "Member")
    owner_profile, member_profile = profile(client, owner), profile(client, member)
    group = client.post("/api/v1/hierarchy-groups", json={"name": "Family", "ownerCustomerId": owner,
                                                          "billingProfileId": owner_profile["id"],
                                                          "validFrom": "2026-01-01T00:00:00+00:00"}).json()
    owner_name = client.get(f"/api/v1/customers/{owner}").json()["lastName"]
    found = eventually(lambda: client.get("/api/v1/hierarchy-groups", params={"ownerName": owner_name}).json())
    assert [g["id"] for g in found] == [group["id"]]
    assert client.get("/api/v1/hierarchy-groups", params={"ownerName": "no such owner"}).json() == []
    joined = client.post(f"/api/v1/hierarchy-groups/{group['id']}/members",
                         json={"customerId": member, "validFrom": "2026-01-01T00:00:00+00:00"})
    assert joined.status_code == 201, joined.text
    [belongs] = client.get("/api/v1/hierarchy-groups", params={"memberCustomerId": member}).json()
    assert belongs["id"] == group["id"] and [m["customerId"] for m in belongs["members"]] == [member]
    cycle = client.post("/api/v1/hierarchy-groups", json={"name": "Back", "ownerCustomerId": member,
                                                          "billingProfileId": member_profile["id"]}).json()
    refused = problem(client.post(f"/api/v1/hierarchy-groups/{cycle['id']}/members", json={"customerId": owner}), 409)
    assert "groupId" in {p["name"] for p in refused["invalid_params"]}
    charge(platform, member_profile["id"], member, "20")
    eventually(lambda: client.get(f"/api/v1/billing-profiles/{member_profile['id']}/bills").json()[1]["itemCount"])
    started = client.post("/api/v1/bill-runs", json={"asOf": FEB_1})
    assert started.status_code == 202, started.text
    run_url = started.headers["Location"]
    done = eventually(lambda: client.get(run_url).json()["status"] == "done" and client.get(run_url).json(), 60)
    assert done and done["failures"] == [] and done["invoices"] >= 2
    job = client.get(f"/api/v1/jobs/{done['jobId']}").json()  # the run is a job: the same progress there
    assert (job["kind"], job["status"], job["outcomes"]["billed"]) == ("bill-run", "succeeded", done["invoices"])
    assert (job["progress"]["processed"], job["progress"]["total"]) == (done["progress"]["processed"],
                                                                        done["progress"]["total"])
    assert client.get(f"/api/v1/bill-runs/{done['jobId']}").json()["id"] == done["id"]
    twice = client.post("/api/v1/bill-runs", json={"asOf": FEB_1}).json()
    assert not twice["started"] and twice["status"] == "done"
    [member_invoice] = client.get(f"/api/v1/customers/{member}/invoices").json()
    [owner_invoice] = client.get(f"/api/v1/customers/{owner}/invoices").json()
    assert member_invoice["transferredTo"]["billingProfileId"] == owner_profile["id"]
    assert [(line["kind"], line["reference"], line["amount"]) for line in owner_invoice["lines"]] == [
        ("hierarchy_transfer", member_invoice["id"], "23.80")]
    member_page = client.get(f"/api/v1/customers/{member}/invoices/{member_invoice['id']}", params={"format": "html"})
    assert "transferred to the hierarchy group owner" in member_page.text
    cancelled = client.post(f"/api/v1/hierarchy-groups/{group['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    late = problem(client.post(f"/api/v1/hierarchy-groups/{group['id']}/members", json={"customerId": owner + 99}),
                   409)
    assert "groupId" in {p["name"] for p in late["invalid_params"]}


def test_bill_now_and_a_credit_note_through_the_gateway(client, platform):
    cid = customer(client)
    created = profile(client, cid)
    charge(platform, created["id"], cid, "10")
    eventually(lambda: client.get(f"/api/v1/billing-profiles/{created['id']}").json()["bills"]["active"]["itemCount"])
    now = client.post(f"/api/v1/billing-profiles/{created['id']}/bill-now")
    assert now.status_code == 201, now.text
    assert now.json()["bill"]["status"] == "billing" and now.json()["invoice"]["amount"] == "11.90"
    invoice_id = now.json()["invoice"]["id"]
    note = client.post(f"/api/v1/customers/{cid}/invoices/{invoice_id}/notes",
                       json={"amount": "2", "reason": "Goodwill", "tax": "VAT"})
    assert note.status_code == 201, note.text
    assert note.json()["number"].startswith("CN-") and note.json()["amount"] == "-2.38"
    assert client.get(f"/api/v1/customers/{cid}/invoices/{invoice_id}").json() == now.json()["invoice"]
