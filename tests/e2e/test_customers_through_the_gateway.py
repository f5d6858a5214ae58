"""Customers end to end: real catalog, customer, billing workers and the gateway API."""
import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest

from chassis.testing import operator_client

ACCOUNT = {"firstName": "Ann", "lastName": "Smith", "email": "ann.smith@example.com", "phone": "+49 30 1234567",
           "address": "Main Street 1", "city": "Berlin", "state": "BE", "country": "DE", "customerType": "regular",
           "customAttributes": {"segment": "smb"}}
DEBIT = {"method": "directDebit", "taxId": "DE811907980",
         "directDebit": {"mandateId": "MANDATE-1", "signedOn": "2025-01-15", "bic": "COBADEFFXXX",
                         "iban": "DE89 3704 0044 0532 0130 00"}}
CONTACT = {"tag": "billing", "firstName": "Bea", "lastName": "Jones", "email": "bea@example.com",
           "phone": "030 555 1234", "address": "Side Road 2", "city": "Potsdam", "state": "BB", "country": "DE"}


@pytest.fixture(scope="module")
def platform(start_services):
    return start_services("catalog", "customer", "billing", "gateway:api")


@pytest.fixture(scope="module")
def client(platform):
    with operator_client(platform) as client:
        for code in ("regular", "commercial"):
            assert client.post("/api/v1/catalog/customer-types",
                               json={"code": code, "name": code.title()}).status_code == 201
        created = client.post("/api/v1/catalog/custom-attributes", json={
            "entity": "customer", "name": "segment", "type": "enum", "allowedValues": ["consumer", "smb"]})
        assert created.status_code == 201, created.text
        yield client


def problem_fields(response):
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {p["name"] for p in response.json()["invalid_params"]}


def create(client, **overrides):
    response = client.post("/api/v1/customers", json={**ACCOUNT, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_customer_is_created_with_a_number_type_attributes_and_a_primary_contact(client, platform):
    customer = create(client, paymentInfo=DEBIT)
    assert customer["id"] >= 1 and customer["status"] == "active"
    assert customer["customerType"] == "regular" and customer["customAttributes"] == {"segment": "smb"}
    assert [c["tag"] for c in customer["contacts"]] == ["primary"]
    assert customer["paymentInfo"]["directDebit"]["iban"] == "DE89370400440532013000"
    assert client.get(f"/api/v1/customers/{customer['id']}").json() == customer
    second = create(client, email="second@example.com")
    assert second["id"] == customer["id"] + 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"country": "XX"}, "country"),
    ({"customerType": "martian"}, "customerType"),
    ({"customAttributes": {"shoeSize": "42"}}, "customAttributes.shoeSize"),
    ({"customAttributes": {"segment": "galactic"}}, "customAttributes.segment"),
    ({"phone": "4111 1111 1111 1111"}, "phone"),
    ({"paymentInfo": {**DEBIT, "directDebit": {**DEBIT["directDebit"], "iban": "DE00 0000"}}},
     "paymentInfo.directDebit.iban"),
    ({"paymentInfo": {**DEBIT, "directDebit": {**DEBIT["directDebit"], "bic": "NOPE"}}},
     "paymentInfo.directDebit.bic"),
    ({"paymentInfo": {**DEBIT, "directDebit": {
        **DEBIT["directDebit"], "signedOn": (datetime.now(UTC) + timedelta(days=5)).date().isoformat()}}},
     "paymentInfo.directDebit.signedOn"),
    ({"paymentInfo": {"method": "creditCard", "creditCard": {"holderName": "Ann", "token": "5500000000000004"}}},
     "paymentInfo.creditCard.token"),
])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(client, platform, overrides, field):
    before = platform.database("customer").customers.count_documents({})
    assert field in problem_fields(client.post("/api/v1/customers", json={**ACCOUNT, **overrides}))
    assert platform.database("customer").customers.count_documents({}) == before


def test_only_the_type_and_custom_attributes_can_be_edited(client):
    cid = create(client)["id"]
    patched = client.patch(f"/api/v1/customers/{cid}", json={"customerType": "commercial",
                                                              "customAttributes": {"segment": "consumer"}},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["customerType"], patched.json()["customAttributes"]) == ("commercial",
                                                                                    {"segment": "consumer"})
    assert client.patch(f"/api/v1/customers/{cid}", json={"email": "x@example.com"}).status_code == 400
    assert "customerType" in problem_fields(client.patch(f"/api/v1/customers/{cid}",
                                                         json={"customerType": "martian"}))


def test_contacts_are_managed_by_tag_through_the_api(client):
    cid = create(client)["id"]
    base = f"/api/v1/customers/{cid}/contacts"
    assert client.post(base, json=CONTACT).status_code == 201
    assert "tag" in problem_fields(client.post(base, json={**CONTACT, "email": "other@example.com"}))
    assert client.patch(f"{base}/billing", json={"city": "Leipzig"}).json()["city"] == "Leipzig"
    listed = client.get(base)
    assert listed.headers["X-Total-Count"] == "2"
    assert client.delete(f"{base}/billing").status_code == 204
    assert client.delete(f"{base}/primary").status_code == 409  # the last contact stays
    assert client.delete(f"{base}/nope").status_code == 404


def test_payment_info_is_replaced_and_card_numbers_never_accepted(client, platform):
    cid = create(client)["id"]
    url = f"/api/v1/customers/{cid}/paymentInfo"
    assert client.get(url).status_code == 404
    card = {"method": "creditCard", "billingAddress": {"address": "PO Box 9", "city": "Bonn", "state": "NW",
                                                       "country": "DE"},
            "creditCard": {"holderName": "Ann Smith", "gateway": "stripe", "token": "tok_1Nabc"}}
    saved = client.put(url, json=card)
    assert saved.status_code == 200, saved.text
    assert saved.json()["billingAddress"]["city"] == "Bonn"
    assert saved.json()["billingAddressIsCustomerAddress"] is False
    refused = client.put(url, json={**card, "taxId": "4111-1111-1111-1111"})
    assert "taxId" in problem_fields(refused)
    assert "4111" not in str(platform.database("customer").customers.find_one({"_id": cid}))


def test_the_list_filters_pages_and_counts(client):
    marker = "Zebulon"
    ids = [create(client, lastName=marker, email=f"z{i}@zoo.example", city="Quedlinburg")["id"] for i in range(3)]
    create(client, lastName=marker, country="AT", city="Graz", paymentInfo=DEBIT)
    page = client.get("/api/v1/customers", params={"name": "zebul", "country": "de", "limit": 2})
    assert page.status_code == 200, page.text
    assert page.headers["X-Total-Count"] == "3" and page.headers["X-Result-Count"] == "2"
    assert [r["id"] for r in page.json()] == ids[:2]
    row = page.json()[0]
    assert (row["name"], row["subscriptionCount"], row["serviceCount"]) == (f"Ann {marker}", 0, 0)
    rest = client.get("/api/v1/customers", params={"name": "zebul", "country": "DE", "offset": 2})
    assert [r["id"] for r in rest.json()] == ids[2:]
    debit = client.get("/api/v1/customers", params={"name": "zebul", "paymentMethod": "directDebit"}).json()
    assert debit[0]["iban"].endswith("3000") and "*" in debit[0]["iban"]
    assert client.get("/api/v1/customers", params={"city": "QUEDLIN", "email": "zoo.exa"}).headers[
        "X-Total-Count"] == "3"
    assert client.get("/api/v1/customers", params={"status": "gone"}).status_code == 400


def test_the_filtered_list_downloads_as_csv(client):
    ids = [create(client, lastName="Csvson", email=f"csv{i}@example.com")["id"] for i in range(3)]
    response = client.get("/api/v1/customers", params={"name": "csvson"}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "name", "email", "subscriptions", "services"]
    assert rows[1:] == [[str(i), "Ann Csvson", f"csv{n}@example.com", "0", "0"] for n, i in enumerate(ids)]


def test_closing_an_account_schedules_its_purge_and_freezes_it(client, platform):
    cid = create(client)["id"]
    closed = client.post(f"/api/v1/customers/{cid}/close")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed"
    gap = datetime.fromisoformat(body["purgeAfter"]) - datetime.fromisoformat(body["closedAt"])
    assert gap == timedelta(days=30)
    assert client.post(f"/api/v1/customers/{cid}/close").status_code == 409
    assert client.post(f"/api/v1/customers/{cid}/contacts", json=CONTACT).status_code == 409
    assert cid not in [r["id"] for r in client.get("/api/v1/customers", params={"limit": 1000}).json()]
    assert cid in [r["id"] for r in client.get("/api/v1/customers", params={"status": "closed"}).json()]


def test_every_customer_change_is_audited_with_before_and_after(client):
    cid = create(client)["id"]
    client.patch(f"/api/v1/customers/{cid}", json={"customAttributes": {"segment": "consumer"}})
    entries = client.get("/api/v1/audit", params={"target": f"customer/{cid}"}).json()
    assert [e["operation"] for e in entries] == ["gateway.api.customers.update", "gateway.api.customers.create"]
    update = entries[0]
    assert update["actor"] == "admin" and update["method"] == "PATCH"
    assert update["before"]["customAttributes"] == {"segment": "smb"}
    assert update["after"]["customAttributes"] == {"segment": "consumer"}


def test_the_counters_follow_rating_events(client, platform):
    import pika

    from chassis.envelope import encode, exchange_for, new_event

    cid = create(client)["id"]
    connection = pika.BlockingConnection(pika.URLParameters(platform.env["AMQP_URI"]))
    channel = connection.channel()
    for event_type, item in (("subscription.created", "s1"), ("service.created", "v1"), ("service.created", "v2")):
        event = new_event(event_type, "rating", {"id": item, "customerId": cid}, subject=item)
        channel.exchange_declare(exchange=exchange_for(event_type), exchange_type="topic", durable=True)
        channel.basic_publish(exchange_for(event_type), event_type, encode(event.to_dict()),
                              pika.BasicProperties(content_type="application/cloudevents+json"))
    connection.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        row = client.get("/api/v1/customers", params={"email": ACCOUNT["email"], "limit": 1000}).json()
        mine = next(r for r in row if r["id"] == cid)
        if (mine["subscriptionCount"], mine["serviceCount"]) == (1, 2):
            break
        time.sleep(0.2)
    assert (mine["subscriptionCount"], mine["serviceCount"]) == (1, 2)


def test_closing_is_refused_with_the_reason_while_invoices_are_unpaid(client, platform):
    cid = create(client)["id"]
    # An invoice in status billing (not fully paid), put where billing keeps them.
    platform.database("billing").invoices.insert_one({
        "_id": f"inv-{cid}", "customer_id": cid, "billing_profile_id": "bp-1", "status": "billing",
        "total": "10.00", "currency": "EUR", "created_at": datetime.now(UTC)})
    refused = client.post(f"/api/v1/customers/{cid}/close")
    assert refused.status_code == 409
    assert "1 unpaid invoice" in refused.json()["detail"]
    assert client.get(f"/api/v1/customers/{cid}").json()["status"] == "active"
