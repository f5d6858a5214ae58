"""The operators' catalog API end to end: gateway API → RPC → catalog worker → MongoDB (real processes)."""
import subprocess
import sys

import pytest

from chassis.testing import operator_client

API = "/api/v1/catalog"


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "gateway:api")
    # The demo catalog, loaded by the same command `make up` runs.
    done = subprocess.run([sys.executable, "-m", "catalog", "load-demo"], env={**platform.env, "LOG_LEVEL": "WARNING"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "demo catalog loaded" in done.stdout
    return platform


@pytest.fixture(scope="module")
def client(platform):
    with operator_client(platform) as client:
        yield client


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def invalid_names(response):
    return {p["name"] for p in problem(response, 400).get("invalid_params", [])}


def test_loading_the_demo_again_leaves_the_loaded_catalog_alone(platform):
    done = subprocess.run([sys.executable, "-m", "catalog", "load-demo"], env=platform.env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "not empty" in done.stdout


def test_every_kind_of_configuration_entry_can_be_listed_and_read(client):
    for segment, key in (("resources", "EUR"), ("service-types", "voice"), ("customer-types", "regular"),
                         ("taxes", "VAT"), ("credit-profiles", "STANDARD"), ("sharing-policies", "FAMILY"),
                         ("coupons", "WELCOME5"), ("custom-attributes", "customer/segment")):
        listed = client.get(f"{API}/{segment}", params={"limit": 1})
        assert listed.status_code == 200, listed.text
        assert int(listed.headers["X-Total-Count"]) >= 1 and listed.headers["X-Result-Count"] == "1"
        assert client.get(f"{API}/{segment}/{key}").status_code == 200
    voice = client.get(f"{API}/service-types/voice").json()
    assert [f["name"] for f in voice["fields"]] == ["startTime", "endTime", "origin", "destination", "from", "to",
                                                   "timeBand"]


def test_a_resource_is_created_changed_and_refuses_duplicates_and_bad_currencies(client):
    created = client.post(f"{API}/resources", json={"code": "USD", "name": "US dollar", "kind": "monetary",
                                                    "currency": "USD"})
    assert created.status_code == 201 and created.headers["Location"] == f"{API}/resources/USD"
    assert created.json()["minorUnits"] == 2
    assert problem(client.post(f"{API}/resources", json={"code": "USD", "name": "again", "kind": "monetary",
                                                         "currency": "USD"}), 409)["detail"].startswith("resource USD")
    assert "currency" in invalid_names(client.post(f"{API}/resources", json={"code": "XX", "name": "x",
                                                                           "kind": "monetary", "currency": "XYZ"}))
    changed = client.patch(f"{API}/resources/USD", json={"consumptionOrder": ["oldest"]},
                           headers={"Content-Type": "application/merge-patch+json"})
    assert changed.status_code == 200 and changed.json()["consumptionOrder"] == ["oldest"]
    assert "kind" in invalid_names(client.patch(f"{API}/resources/USD", json={"kind": "unit"}))
    assert problem(client.get(f"{API}/resources/NOPE"), 404)


def test_configuration_entries_of_every_other_kind_are_created_and_patched(client):
    entries = {
        "customer-types": ({"code": "vip", "name": "VIP"}, "vip", {"name": "Very important"}),
        "custom-attributes": ({"entity": "customer", "name": "tier", "type": "enum", "allowedValues": ["a", "b"]},
                              "customer/tier", {"description": "loyalty tier"}),
        "service-types": ({"code": "iot", "name": "IoT message", "fields": [
            {"name": "bytes", "type": "integer", "role": "mandatory"}]}, "iot", {"name": "IoT"}),
        "taxes": ({"code": "VAT7", "name": "Reduced VAT", "rate": "7", "supplier": "Tax office", "glCode": "3801"},
                  "VAT7", {"rate": "7.5"}),
        "credit-profiles": ({"code": "LOW", "name": "Low", "limits": [{"resource": "EUR", "creditLimit": "20"}]},
                            "LOW", {"name": "Low credit"}),
        "sharing-policies": ({"code": "STRICT", "name": "Strict", "onExhausted": "deny",
                              "resources": [{"resource": "MB", "memberCap": "100"}]},
                             "STRICT", {"onExhausted": "fallback"}),
        "coupons": ({"code": "SPRING10", "name": "Spring", "discount": {"code": "LOYALTY-10"},
                     "validFrom": "2025-03-01T00:00:00Z"}, "SPRING10", {"validTo": "2099-01-01T00:00:00Z"}),
    }
    for segment, (body, key, patch) in entries.items():
        created = client.post(f"{API}/{segment}", json=body)
        assert created.status_code == 201, (segment, created.text)
        assert created.headers["Location"] == f"{API}/{segment}/{key}"
        changed = client.patch(f"{API}/{segment}/{key}", json=patch)
        assert changed.status_code == 200, (segment, changed.text)
        assert all(changed.json()[k] in (v, v.replace("Z", "+00:00")) for k, v in patch.items())
    assert client.get(f"{API}/taxes/VAT7").json()["rate"] == "7.5"


def test_bad_configuration_is_refused_with_the_field_named_and_nothing_stored(client, platform):
    db = platform.database("catalog")
    before = db.credit_profiles.count_documents({})
    assert invalid_names(client.post(f"{API}/credit-profiles", json={
        "code": "BAD", "name": "x", "limits": [{"resource": "GOLD", "creditLimit": "5"}]})) == {"limits.0.resource"}
    assert "limits.0.thresholds.0.value" in invalid_names(client.post(f"{API}/credit-profiles", json={
        "code": "BAD", "name": "x", "limits": [{"resource": "EUR", "creditLimit": "5", "thresholds": [
            {"kind": "percent", "value": "150", "channels": ["email"]}]}]}))
    # Floats never reach the service: the contract wants decimal strings.
    assert problem(client.post(f"{API}/taxes", json={"code": "F", "name": "f", "rate": 19.0, "supplier": "s",
                                                     "glCode": "1"}), 400)
    assert db.credit_profiles.count_documents({}) == before
    assert db.taxes.count_documents({"code": "F"}) == 0


PRODUCT = {"code": "VOICE-XL", "name": "Voice XL", "type": "service", "serviceType": "voice", "resource": "MIN",
           "priceResource": "EUR", "freeUnits": "500", "tax": "VAT", "glCode": "4000",
           "rateTable": {"keys": ["destination"], "rates": [
               {"key": {"destination": "national"}, "pricePerUnit": "0.05"},
               {"key": {"destination": "eu"}, "pricePerUnit": "0.10"},
               {"key": {"destination": "international"}, "pricePerUnit": "0.50", "unitSize": "1", "rounding": "up"}]}}


def test_a_product_goes_from_draft_to_active_to_a_new_version_while_the_sold_one_stays(client, platform):
    created = client.post(f"{API}/products", json=PRODUCT)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.headers["Location"] == f"{API}/products/VOICE-XL/versions/1"
    assert created.json()["defaultValue"] == "500"
    edited = client.put(f"{API}/products/VOICE-XL/versions/1", json={**PRODUCT, "freeUnits": "600"})
    assert edited.status_code == 200 and edited.json()["freeUnits"] == "600"
    published = client.post(f"{API}/products/VOICE-XL/versions/1/publish")
    assert published.status_code == 200 and published.json()["status"] == "active"

    # Active means it may have been sold: never edited in place, and nothing changes.
    assert "publish a new version" in problem(client.put(f"{API}/products/VOICE-XL/versions/1", json=PRODUCT),
                                             409)["detail"]
    assert client.get(f"{API}/products/VOICE-XL/versions/1").json()["freeUnits"] == "600"
    assert problem(client.delete(f"{API}/products/VOICE-XL/versions/1"), 409)

    second = client.post(f"{API}/products/VOICE-XL/versions", json={**PRODUCT, "freeUnits": "1000"})
    assert second.status_code == 201 and second.json()["version"] == 2
    assert problem(client.post(f"{API}/products/VOICE-XL/versions"), 409)  # one draft at a time
    client.post(f"{API}/products/VOICE-XL/versions/2/publish").raise_for_status()
    versions = client.get(f"{API}/products/VOICE-XL/versions").json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "retired"), (2, "active")]
    assert client.get(f"{API}/products/VOICE-XL").json()["version"] == 2
    assert client.get(f"{API}/products", params={"status": "active", "productType": "service"}).headers[
        "X-Total-Count"] == "5"  # four in the demo catalog
    events = [e["type"] for e in platform.database("catalog").outbox.find({"envelope.subject": "VOICE-XL"})]
    assert sorted(events) == ["catalog.product_published", "catalog.product_published", "catalog.product_retired"]

    third = client.post(f"{API}/products/VOICE-XL/versions")  # an empty body copies the newest version
    assert third.status_code == 201 and third.json()["freeUnits"] == "1000"
    assert client.delete(f"{API}/products/VOICE-XL/versions/3").status_code == 204
    retired = client.post(f"{API}/products/VOICE-XL/versions/2/retire")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert problem(client.post(f"{API}/products/VOICE-XL/versions/2/retire"), 409)


@pytest.mark.parametrize("change, field", [
    ({"rateTable": {"keys": ["destination"], "rates": [
        {"key": {"destination": "national"}, "pricePerUnit": "0.05"},
        {"key": {"destination": "*"}, "pricePerUnit": "0.10"}]}}, "rateTable.rates.1.key"),
    ({"rateTable": {"keys": ["destination"], "rates": [
        {"key": {"destination": "national"}, "pricePerUnit": "0.05"}]}}, "rateTable.rates"),
    ({"rateTable": {"keys": ["destination", "timeBand"], "rates": [
        {"key": {"destination": "*"}, "pricePerUnit": "0.05"}]}}, "rateTable.rates.0.key.timeBand"),
    ({"rateTable": {"keys": ["destination"], "rates": [
        {"key": {"destination": "*"}, "pricePerUnit": "-0.05"}]}}, "rateTable.rates.0.pricePerUnit"),
    ({"serviceType": "telepathy"}, "serviceType"),
    ({"tax": "NOTAX"}, "tax"),
    ({"resource": "EUR"}, "resource"),
    ({"amount": "5"}, "amount"),
])
def test_a_bad_product_is_refused_with_the_field_named(client, platform, change, field):
    response = client.post(f"{API}/products", json={**PRODUCT, "code": "BAD-PRODUCT", **change})
    assert field in invalid_names(response)
    assert platform.database("catalog").products.count_documents({"code": "BAD-PRODUCT"}) == 0


def test_bundles_and_plans_refer_to_versions_and_publish_only_when_their_parts_are_active(client):
    client.post(f"{API}/products", json={**PRODUCT, "code": "VOICE-DRAFT"}).raise_for_status()
    bundle = client.post(f"{API}/bundles", json={"code": "VOICE-ONLY", "name": "Voice only",
                                                 "products": [{"code": "VOICE-DRAFT"}, {"code": "MOBILE-FEE"}]})
    assert bundle.status_code == 201 and bundle.json()["products"][0] == {"code": "VOICE-DRAFT", "version": 1}
    assert "VOICE-DRAFT" in problem(client.post(f"{API}/bundles/VOICE-ONLY/versions/1/publish"), 409)["detail"]
    client.post(f"{API}/products/VOICE-DRAFT/versions/1/publish").raise_for_status()
    client.post(f"{API}/bundles/VOICE-ONLY/versions/1/publish").raise_for_status()

    assert invalid_names(client.post(f"{API}/plans", json={
        "code": "VOICE-PLAN", "name": "Voice", "paymentTypes": ["prepaid"], "bundles": [{"code": "NOPE"}]})) == {
        "bundles.0.code"}
    assert "addOns.0.code" in invalid_names(client.post(f"{API}/plans", json={
        "code": "VOICE-PLAN", "name": "Voice", "paymentTypes": ["prepaid"], "bundles": [{"code": "VOICE-ONLY"}],
        "addOns": [{"code": "MOBILE-BASIC"}]}))
    plan = client.post(f"{API}/plans", json={"code": "VOICE-PLAN", "name": "Voice", "paymentTypes": ["prepaid"],
                                             "bundles": [{"code": "VOICE-ONLY"}], "addOns": [{"code": "DATA-5GB"}]})
    assert plan.status_code == 201
    assert problem(client.post(f"{API}/plans", json={"code": "VOICE-PLAN", "name": "again", "paymentTypes": [
        "prepaid"], "bundles": [{"code": "VOICE-ONLY"}]}), 409)
    assert problem(client.get(f"{API}/plans/VOICE-PLAN/offer"), 409)  # no active version yet
    client.post(f"{API}/plans/VOICE-PLAN/versions/1/publish").raise_for_status()
    offer = client.get(f"{API}/plans/VOICE-PLAN/offer").json()
    assert [p["code"] for p in offer["bundles"][0]["products"]] == ["VOICE-DRAFT", "MOBILE-FEE"]
    assert client.get(f"{API}/plans/VOICE-PLAN/offer", params={"version": 1}).json()["version"] == 1
    assert client.get(f"{API}/bundles/DATA-5GB/offer").json()["addOn"] is True
    assert client.get(f"{API}/plans", params={"code": "VOICE-PLAN"}).headers["X-Total-Count"] == "1"
    assert client.get(f"{API}/plans/VOICE-PLAN").json()["status"] == "active"
    assert client.get(f"{API}/bundles", params={"status": "active"}).status_code == 200
    assert client.get(f"{API}/bundles/VOICE-ONLY").json()["version"] == 1
    assert client.get(f"{API}/bundles/VOICE-ONLY/versions").headers["X-Total-Count"] == "1"
    assert client.get(f"{API}/plans/VOICE-PLAN/versions/1").status_code == 200
    assert client.get(f"{API}/plans/VOICE-PLAN/versions").json()[0]["bundles"] == [{"code": "VOICE-ONLY",
                                                                                  "version": 1}]


def test_bundle_and_plan_versions_are_edited_while_drafts_and_retired_when_done(client):
    client.post(f"{API}/bundles", json={"code": "EXTRA", "name": "Extra", "addOn": True,
                                        "products": [{"code": "DATA-ADDON-FEE"}]}).raise_for_status()
    edited = client.put(f"{API}/bundles/EXTRA/versions/1", json={
        "code": "EXTRA", "name": "Extra data", "addOn": True, "products": [{"code": "DATA-ADDON-5GB"}]})
    assert edited.status_code == 200 and edited.json()["name"] == "Extra data"
    client.post(f"{API}/bundles/EXTRA/versions/1/publish").raise_for_status()
    assert client.post(f"{API}/bundles/EXTRA/versions", json={}).json()["version"] == 2
    assert client.delete(f"{API}/bundles/EXTRA/versions/2").status_code == 204
    assert client.post(f"{API}/bundles/EXTRA/versions/1/retire").json()["status"] == "retired"

    client.post(f"{API}/plans", json={"code": "TEMP", "name": "Temp", "paymentTypes": ["postpaid"],
                                      "bundles": [{"code": "MOBILE-BASIC"}]}).raise_for_status()
    edited_plan = client.put(f"{API}/plans/TEMP/versions/1", json={
        "code": "TEMP", "name": "Temporary", "paymentTypes": ["postpaid", "prepaid"],
        "bundles": [{"code": "MOBILE-BASIC"}]})
    assert edited_plan.json()["paymentTypes"] == ["postpaid", "prepaid"]
    client.post(f"{API}/plans/TEMP/versions/1/publish").raise_for_status()
    assert client.post(f"{API}/plans/TEMP/versions", json={}).json()["version"] == 2
    assert client.delete(f"{API}/plans/TEMP/versions/2").status_code == 204
    assert client.post(f"{API}/plans/TEMP/versions/1/retire").json()["status"] == "retired"
    assert "no active version" in problem(client.get(f"{API}/plans/TEMP/offer"), 409)["detail"]
    # The retired version is still readable for the subscriptions that bought it.
    assert client.get(f"{API}/plans/TEMP/offer", params={"version": 1}).json()["status"] == "retired"


def test_a_rate_lookup_prices_one_usage_from_the_rate_table(client):
    priced = client.post(f"{API}/rate-lookups", json={
        "serviceType": "voice", "product": "VOICE-MIN", "quantity": "2.5",
        "fields": {"destination": "international", "timeBand": "offpeak", "from": "+4930123", "to": "+1555"}})
    assert priced.status_code == 200, priced.text
    assert priced.json() | {} == {**priced.json(), "pricePerUnit": "0.59", "units": "3", "amount": "1.770000",
                                  "resource": "EUR", "unitResource": "MIN"}
    assert "fields.timeBand" in invalid_names(client.post(f"{API}/rate-lookups", json={
        "serviceType": "voice", "product": "VOICE-MIN", "fields": {"destination": "eu"}}))
    assert "fields.destination" in invalid_names(client.post(f"{API}/rate-lookups", json={
        "serviceType": "voice", "product": "VOICE-MIN", "fields": {"destination": "mars", "timeBand": "peak"}}))
    data = client.post(f"{API}/rate-lookups", json={"serviceType": "data", "fields": {"zone": "eu"},
                                                   "at": "2999-01-01T00:00:00Z"})
    assert problem(data, 409)  # two data products are on sale: the lookup must name one


def test_vouchers_are_generated_in_batches_and_listed_with_their_redemptions(client):
    created = client.post(f"{API}/voucher-batches", json={"name": "Fair", "prefix": "FAIR", "count": 3,
                                                          "bundle": {"code": "DATA-5GB"},
                                                          "validFrom": "2025-01-01T00:00:00Z"})
    assert created.status_code == 201, created.text
    batch = created.json()
    assert batch["redeemed"] == 0 and batch["bundle"] == {"code": "DATA-5GB", "version": 1}
    assert client.get(created.headers["Location"]).json()["count"] == 3
    assert client.get(f"{API}/voucher-batches").headers["X-Total-Count"] == "2"
    vouchers = client.get(f"{API}/voucher-batches/{batch['id']}/vouchers", params={"redeemed": False})
    codes = [v["code"] for v in vouchers.json()]
    assert vouchers.headers["X-Total-Count"] == "3" and len(set(codes)) == 3
    assert all(c.startswith("FAIR-") for c in codes)
    assert client.get(f"{API}/vouchers/{codes[0]}").json()["redeemedAt"] is None
    promotion = client.get(f"{API}/promotions/{codes[0]}").json()
    assert promotion["kind"] == "voucher" and promotion["bundle"]["code"] == "DATA-5GB"
    assert client.get(f"{API}/promotions/WELCOME5").json()["kind"] == "coupon"
    assert problem(client.get(f"{API}/promotions/NOPE-123"), 404)
    assert "bundle.code" in invalid_names(client.post(f"{API}/voucher-batches", json={
        "name": "x", "count": 1, "bundle": {"code": "NOPE"}, "validFrom": "2025-01-01T00:00:00Z"}))
    assert problem(client.get(f"{API}/voucher-batches/999"), 404)
