"""Payments end to end: real customer, billing and catalog workers, the gateway API and the local payment
provider process; invoices come from billing's own run billing."""
import time
import uuid
from decimal import Decimal
from importlib.resources import files

import httpx
import pytest
import xmlschema

from billing import bank_simulator
from billing.config import DEV_CREDITOR
from chassis.testing import operator_client

JAN_10 = "2026-01-10T00:00:00+00:00"
FEB_1 = "2026-02-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def provider(start_services):
    return start_services("billing:payment-provider")["billing:payment-provider"]


@pytest.fixture(scope="module")
def platform(start_services, provider):
    platform = start_services("catalog", "customer", "billing", "gateway:api",
                              env={"BILLING_PAYMENT_PROVIDER_URL": provider.url})
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def client(platform):
    with operator_client(platform) as client:
        yield client


def eventually(probe, timeout=30):
    deadline = time.monotonic() + timeout
    while not (result := probe()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def customer_paying(client, payment_info):
    created = client.post("/api/v1/customers", json={
        "firstName": "Ada", "lastName": f"Payer{uuid.uuid4().hex[:6]}", "email": f"{uuid.uuid4().hex[:10]}@example.com",
        "phone": "+386 40 111 222", "address": "Slovenska 1", "city": "Ljubljana", "state": "LJ", "country": "SI",
        "customerType": "regular"})
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    if payment_info:
        assert client.put(f"/api/v1/customers/{customer_id}/paymentInfo", json=payment_info).status_code == 200
    profile = client.post(f"/api/v1/customers/{customer_id}/billing-profiles", json={
        "paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 1, "validFrom": JAN_10})
    assert profile.status_code == 201, profile.text
    return customer_id, profile.json()["id"]


def invoice_of(client, customer_id, profile_id, amount, as_of=FEB_1):
    """Charge the active bill by an adjustment and run billing: billing issues the invoice."""
    bill_id = client.get(f"/api/v1/billing-profiles/{profile_id}").json()["bills"]["active"]["id"]
    adjusted = client.post(f"/api/v1/bills/{bill_id}/adjustments", json={"amount": amount, "billItem": "service"})
    assert adjusted.status_code == 201, adjusted.text
    billed = client.post(f"/api/v1/billing-profiles/{profile_id}/run-billing", json={"asOf": as_of})
    assert billed.status_code == 200, billed.text
    invoices = client.get(f"/api/v1/customers/{customer_id}/invoices").json()
    return next(i for i in invoices if i["billId"] == bill_id)


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {p["name"] for p in response.json().get("invalid_params", [])}


def test_paying_offline_closes_the_invoice_and_an_overpayment_pays_part_of_the_next(client):
    customer_id, profile_id = customer_paying(client, None)
    invoice = invoice_of(client, customer_id, profile_id, "40.00")
    url = f"/api/v1/customers/{customer_id}/invoices/{invoice['id']}/payments"
    assert problem(client.post(url, json={"amount": 40.0, "method": "cash"}), 400) == {"amount"}
    paid = client.post(url, json={"amount": "50.00", "method": "transfer", "provider": "Bank", "reference": "CT-1"})
    assert paid.status_code == 201, paid.text
    assert (paid.json()["applied"], paid.json()["toCredit"]) == ("40.00", "10.00")
    closed = client.get(f"/api/v1/customers/{customer_id}/invoices/{invoice['id']}").json()
    assert (closed["status"], closed["dueAmount"]) == ("closed", "0.00")
    assert client.get(f"/api/v1/billing-profiles/{profile_id}").json()["creditBalance"] == "10.00"
    assert problem(client.post(url, json={"amount": "1.00", "method": "cash"}), 409) == {"invoiceId"}
    assert problem(client.post(url, json={"amount": "40.01", "direction": "refund", "method": "cash"}), 400) == {
        "amount"}
    following = invoice_of(client, customer_id, profile_id, "25.00", as_of="2026-03-01T00:00:00+00:00")
    assert (following["status"], following["dueAmount"]) == ("billing", "15.00")
    assert Decimal(client.get(f"/api/v1/billing-profiles/{profile_id}").json()["creditBalance"]) == 0
    audited = client.get("/api/v1/audit", params={"target": f"invoice/{invoice['id']}/payments/{paid.json()['id']}"})
    assert [e["operation"] for e in audited.json()] == ["gateway.api.payments.record_payment"]


def test_a_sepa_file_valid_against_the_xsd_and_a_camt054_with_one_paid_and_one_returned_invoice(client):
    mandate = {"method": "directDebit", "directDebit": {"mandateId": f"M-{uuid.uuid4().hex[:8]}",
                                                        "signedOn": "2025-06-01", "iban": "DE02120300000000202051",
                                                        "bic": "BYLADEM1001"}}
    first, first_profile = customer_paying(client, mandate)
    second, second_profile = customer_paying(client, {**mandate, "directDebit": {
        **mandate["directDebit"], "mandateId": f"M-{uuid.uuid4().hex[:8]}"}})
    paid = invoice_of(client, first, first_profile, "19.99")
    returned = invoice_of(client, second, second_profile, "5.00")
    exported = eventually(lambda: (r := client.post("/api/v1/sepa-files")).status_code == 201
                          and r.json()["transactions"] == 2 and r)
    assert exported, "billing did not learn both mandates from customer.updated"
    content = client.get(exported.headers["Location"], headers={"Accept": "application/xml"}).content
    xsd = files("sepaxml") / "schemas" / f"{exported.json()['version']}.xsd"
    xmlschema.XMLSchema(str(xsd)).validate(content.decode())
    job = client.get(f"/api/v1/jobs/{exported.json()['jobId']}").json()
    assert (job["kind"], job["status"], job["outcomes"]) == ("sepa-export", "succeeded", {"collected": 2})
    assert client.post("/api/v1/sepa-files").json()["fileId"] is None  # in collection: never twice
    e2e = {tx[0] for tx in bank_simulator.transactions(content)}
    returned_e2e = next(i for i in e2e if i.startswith(returned["number"]))
    camt = bank_simulator.camt054(content, DEV_CREDITOR.iban, {returned_e2e: "AM04"}, extra=[("UNKNOWN/F0", "1.00")])
    report = client.post("/api/v1/bank-files", content=camt, headers={"Content-Type": "application/xml"})
    assert report.status_code == 200, report.text
    assert report.json()["counts"] == {"matched": 2, "unmatched": 1, "unchanged": 0}
    statuses = {i["id"]: i["status"] for c in (first, second) for i in client.get(f"/api/v1/customers/{c}/invoices")
                .json()}
    assert (statuses[paid["id"]], statuses[returned["id"]]) == ("closed", "billing")
    again = client.post("/api/v1/bank-files", content=camt, headers={"Content-Type": "application/xml"})
    assert again.json()["duplicate"] is True
    assert problem(client.post("/api/v1/bank-files", content=b"<Document><Ntry>",
                               headers={"Content-Type": "application/xml"}), 400) == {"file"}
    foreign = bank_simulator.camt054(content, "FR7630006000011234567890189", message_id="OTHER")
    assert problem(client.post("/api/v1/bank-files", content=foreign,
                               headers={"Content-Type": "application/xml"}), 400) == {"file"}


def test_card_customers_are_charged_by_the_collection_run_once(client, provider):
    customer_id, profile_id = customer_paying(client, {"method": "creditCard", "creditCard": {
        "holderName": "Ada Payer", "token": f"tok_visa_{uuid.uuid4().hex[:6]}"}})
    invoice = invoice_of(client, customer_id, profile_id, "42.00")
    token = client.get(f"/api/v1/customers/{customer_id}/paymentInfo").json()["creditCard"]["token"]

    def charged():
        # Started as a job the billing worker runs; its progress and report are read through /api/v1/jobs.
        started = client.post("/api/v1/payment-collections", headers={"Prefer": "respond-async"})
        assert started.status_code == 202, started.text
        assert started.headers["Location"] == f"/api/v1/jobs/{started.json()['id']}"
        job = eventually(lambda: (j := client.get(started.headers["Location"]).json())["status"] == "succeeded" and j)
        assert job and job["kind"] == "collect-payments", job
        assert job["report"]["invoices"] == job["progress"]["total"] == job["progress"]["processed"]
        return client.get(f"/api/v1/customers/{customer_id}/invoices/{invoice['id']}").json()["status"] == "closed"

    assert eventually(charged), "billing did not learn the card token from customer.updated"
    report = client.post("/api/v1/payment-collections")  # waits for its job and answers its report
    assert report.status_code == 200, report.text
    assert client.get(f"/api/v1/jobs/{report.json()['jobId']}").json()["status"] == "succeeded"
    accepted = httpx.get(f"{provider.url}/v1/charges").json()["charges"]
    assert [c["amount"] for c in accepted if c["token"] == token] == ["42.00"]
    payments = client.get(f"/api/v1/customers/{customer_id}/invoices/{invoice['id']}/payments").json()
    assert [(p["method"], p["amount"]) for p in payments] == [("card", "42.00")]
