"""The operator API under hostile input: never a server error, exact merge-patch, airtight
sessions, throttled logins and a customer's whole history (real processes)."""
import time
import uuid

import httpx
import pytest

from chassis.testing import operator_client

from .conftest import load_demo_catalog

WIDE = 2**64 + 1


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("customer", "catalog", "rating", "billing", "gateway:api",
                              env={"GATEWAY_LOGIN_MAX_FAILURES": "3", "GATEWAY_LOGIN_LOCKOUT_SECONDS": "2"})
    load_demo_catalog(platform)
    return platform


@pytest.fixture(scope="module")
def admin(platform):
    with operator_client(platform) as client:
        yield client


@pytest.fixture
def anonymous(platform):
    with httpx.Client(base_url=platform["gateway:api"].url, timeout=30) as client:
        yield client


def _user(admin, username, role="operator", password="a-long-password-1"):
    assert admin.post("/api/v1/users", json={"username": username, "password": password,
                                             "role": role}).status_code == 201
    return password


def _customer(admin, **attributes):
    body = {"firstName": "Eva", "lastName": "Kranjc", "email": f"eva-{uuid.uuid4().hex[:12]}@example.com",
            "phone": "+386 40 222 333", "address": "Trubarjeva 2", "city": "Maribor", "state": "Podravska",
            "country": "SI", "customerType": "regular", "customAttributes": attributes}
    response = admin.post("/api/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _assert_problem(response, status, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in response.text


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/customers"])
def test_a_body_that_is_not_utf8_is_a_400_problem_not_a_server_error(platform, admin, path):
    response = admin.post(path, content=b'{"username": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    _assert_problem(response, 400, "body")


def test_integers_wider_than_64_bits_are_400_problems_naming_the_parameter(admin):
    _assert_problem(admin.get(f"/api/v1/customers/{WIDE}"), 400, "customerId")
    _assert_problem(admin.get("/api/v1/customers", params={"offset": WIDE}), 400, "offset")
    _assert_problem(admin.get("/api/v1/audit", params={"limit": WIDE}), 400, "limit")
    _assert_problem(admin.get(f"/api/v1/catalog/plans/MOBILE-S/versions/{WIDE}"), 400, "version")
    _assert_problem(admin.post("/api/v1/customers", json={"firstName": WIDE}), 400, "firstName")
    nested = admin.post("/api/v1/onboardings", json={"account": {"firstName": "A"}, "sharing": {"group": WIDE}})
    _assert_problem(nested, 400, "sharing.group")


def test_json_that_does_not_parse_is_a_400_problem(admin):
    _assert_problem(admin.post("/api/v1/customers", content=b"{", headers={"Content-Type": "application/json"}),
                    400, "body")
    deep = b"[" * 100_000 + b"]" * 100_000
    _assert_problem(admin.post("/api/v1/customers", content=deep, headers={"Content-Type": "application/json"}),
                    400, "body")


def test_merge_patch_sets_one_custom_attribute_and_keeps_the_others(admin):
    customer = _customer(admin, segment="consumer", referralCode="FRIEND-1")
    patched = admin.patch(f"/api/v1/customers/{customer['id']}", json={"customAttributes": {"segment": "smb"}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["customAttributes"] == {"segment": "smb", "referralCode": "FRIEND-1"}


def test_merge_patch_null_removes_one_custom_attribute_and_leaves_the_others(admin):
    customer = _customer(admin, segment="consumer", referralCode="FRIEND-2")
    patched = admin.patch(f"/api/v1/customers/{customer['id']}", json={"customAttributes": {"referralCode": None}},
                          headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["customAttributes"] == {"segment": "consumer"}


def test_catalog_merge_patch_changes_one_field_and_null_removes_one(admin):
    created = admin.post("/api/v1/catalog/taxes", json={"code": "RED-5", "name": "Reduced", "rate": "5",
                                                         "supplier": "State", "glCode": "2100"})
    assert created.status_code == 201, created.text
    merge = {"Content-Type": "application/merge-patch+json"}
    patched = admin.patch("/api/v1/catalog/taxes/RED-5", json={"name": "Reduced rate"}, headers=merge)
    assert patched.status_code == 200, patched.text
    assert patched.json() | {"updatedAt": None} == created.json() | {"name": "Reduced rate", "updatedAt": None}
    # null removes the field; the supplier is required, so the merged entry is refused as a whole
    _assert_problem(admin.patch("/api/v1/catalog/taxes/RED-5", json={"supplier": None}, headers=merge), 400,
                    "supplier")
    assert admin.get("/api/v1/catalog/taxes/RED-5").json()["supplier"] == "State"


def test_a_password_change_ends_a_token_issued_in_the_same_second(platform, admin):
    password = _user(admin, "sam")
    with operator_client(platform, username="sam", password=password) as sam:
        assert admin.patch("/api/v1/users/sam", json={"password": "another-long-password"}).status_code == 200
        assert sam.get("/api/v1/customers").status_code == 401
    with operator_client(platform, username="sam", password="another-long-password") as sam:
        assert sam.get("/api/v1/customers").status_code == 200


def test_a_role_change_ends_earlier_tokens(platform, admin):
    password = _user(admin, "rita", role="viewer")
    with operator_client(platform, username="rita", password=password) as rita:
        assert admin.patch("/api/v1/users/rita", json={"role": "operator"}).status_code == 200
        assert rita.get("/api/v1/customers").status_code == 401


def test_a_user_deleted_and_created_again_does_not_accept_the_old_token(platform, admin):
    password = _user(admin, "dan")
    with operator_client(platform, username="dan", password=password) as dan:
        assert admin.delete("/api/v1/users/dan").status_code == 204
        _user(admin, "dan", password=password)
        assert dan.get("/api/v1/customers").status_code == 401


def test_repeated_failed_logins_lock_the_user_out_with_429_and_retry_after(platform, admin, anonymous):
    password = _user(admin, "lena")
    for _ in range(3):
        assert anonymous.post("/api/v1/auth/token", json={"username": "lena", "password": "wrong-password"}
                              ).status_code == 401
    locked = anonymous.post("/api/v1/auth/token", json={"username": "lena", "password": password})
    _assert_problem(locked, 429)
    assert int(locked.headers["Retry-After"]) >= 1
    time.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert anonymous.post("/api/v1/auth/token", json={"username": "lena", "password": password}).status_code == 200


def test_failed_logins_and_refused_calls_are_audited(platform, admin, anonymous):
    anonymous.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong-password"})
    password = _user(admin, "vic", role="viewer")
    with operator_client(platform, username="vic", password=password) as vic:
        assert vic.post("/api/v1/customers/1/close").status_code == 403
    failed = admin.get("/api/v1/audit", params={"actor": "nobody"}).json()
    assert [(e["operation"], e["status"]) for e in failed] == [("gateway.api.auth.issue_token", 401)]
    refused = admin.get("/api/v1/audit", params={"actor": "vic"}).json()
    assert [(e["operation"], e["status"]) for e in refused] == [("gateway.api.customers.close", 403)]


def test_a_customers_whole_history_reads_in_time_order_from_the_onboarding_on(admin, onboarding_request):
    onboarded = admin.post("/api/v1/onboardings", json=onboarding_request(), headers={"Idempotency-Key": "h-1"})
    assert onboarded.status_code == 201, onboarded.text
    customer_id = onboarded.json()["customer"]["id"]
    contact = {"tag": "billing", "firstName": "Ana", "lastName": "Novak", "email": "billing@example.com",
               "phone": "+386 40 111 999", "address": "Slovenska 1", "city": "Ljubljana", "state": "Osrednjeslovenska",
               "country": "SI"}
    assert admin.post(f"/api/v1/customers/{customer_id}/contacts", json=contact).status_code == 201
    assert admin.put(f"/api/v1/customers/{customer_id}/paymentInfo",
                     json={"method": "invoice", "taxId": "SI12345678"}).status_code == 200
    assert admin.patch(f"/api/v1/customers/{customer_id}", json={"customerType": "commercial"}).status_code == 200
    history = admin.get("/api/v1/audit", params={"customer": customer_id, "order": "oldest"})
    assert history.status_code == 200
    operations = [entry["operation"] for entry in history.json()]
    assert operations == ["gateway.api.onboarding.create", "gateway.api.customers.add_contact",
                          "gateway.api.customers.set_payment_info", "gateway.api.customers.update"]
    assert {entry["customerId"] for entry in history.json()} == {customer_id}


def test_fields_the_contract_marks_nullable_accept_null(admin):
    body = {"firstName": "Nul", "lastName": "Able", "email": f"null-{uuid.uuid4().hex[:12]}@example.com",
            "phone": "+386 40 222 444", "address": "Trubarjeva 3", "city": "Maribor", "state": "Podravska",
            "country": "si", "customerType": "regular", "paymentInfo": None, "organization": None, "zip": None}
    created = admin.post("/api/v1/customers", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["paymentInfo"] is None and created.json()["country"] == "SI"
    replaced = admin.put(f"/api/v1/customers/{created.json()['id']}/paymentInfo",
                         json={"method": "invoice", "billingAddress": None, "taxId": None})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["billingAddressIsCustomerAddress"] is True


def test_options_answers_every_allowed_method_of_a_path(admin):
    response = admin.options("/api/v1/customers/1")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"
