import pytest

from chassis.errors import Conflict, ValidationFailed
from gateway.domain.onboarding import (
    EpochIdentifiers,
    OnboardingFailed,
    check_plan_choice,
    promotion_products,
    request_fields,
    request_fingerprint,
    service_identifiers,
    snapshot_products,
    step_fields,
)

PLAN = {"code": "P", "version": 3, "name": "Plan", "paymentTypes": ["postpaid"], "bundles": [
    {"code": "B", "version": 1, "products": [
        {"code": "VOICE", "version": 1, "name": "Voice", "type": "service", "serviceType": "voice",
         "optional": False, "defaultQuantity": "1", "defaultValue": None, "resource": "MIN", "freeUnits": "100",
         "defaultValidity": {"unit": "month", "count": 1}},
        {"code": "DATA", "version": 1, "name": "Data", "type": "service", "serviceType": "data",
         "optional": False, "defaultQuantity": "1", "defaultValue": None, "resource": "MB", "freeUnits": None,
         "defaultValidity": None},
        {"code": "FEE", "version": 2, "name": "Fee", "type": "recurring_fee", "serviceType": None,
         "optional": False, "defaultQuantity": "1", "defaultValue": "19.99", "resource": "EUR"},
        {"code": "SIM", "version": 1, "name": "SIM", "type": "one_time_fee", "serviceType": None,
         "optional": True, "defaultQuantity": "1", "defaultValue": "9.99", "resource": "EUR"}]}]}


def counter():
    values = iter(range(1000, 2000))
    return lambda: str(next(values))


def test_products_keep_catalog_defaults_unless_the_operator_changes_them():
    products, _ = snapshot_products(PLAN, [{"code": "FEE", "value": "17.50"}, {"code": "SIM", "purchase": True,
                                                                             "quantity": "2"}], "555", counter())
    by_code = {p["code"]: p for p in products}
    assert by_code["FEE"]["value"] == "17.50" and by_code["FEE"]["quantity"] == "1"
    assert by_code["SIM"]["purchased"] and by_code["SIM"]["quantity"] == "2"
    assert by_code["VOICE"]["validity"] == {"unit": "month", "count": 1} and by_code["VOICE"]["freeUnits"] == "100"
    assert by_code["VOICE"]["serviceIdentifier"] == by_code["DATA"]["serviceIdentifier"] == "555"


def test_optional_products_are_not_bought_unless_asked():
    products, _ = snapshot_products(PLAN, [], None, counter())
    assert {p["code"]: p["purchased"] for p in products} == {"VOICE": True, "DATA": True, "FEE": True, "SIM": False}


def test_without_identifiers_one_generated_identifier_serves_every_service_type():
    products, origins = snapshot_products(PLAN, [{"code": "DATA", "serviceIdentifier": "777"}], None, counter())
    assert [p["serviceIdentifier"] for p in products[:2]] == ["1000", "777"]
    assert origins[:2] == ["subscription.serviceIdentifier", "subscription.plan.products.0.serviceIdentifier"]


@pytest.mark.parametrize("choice,field", [
    ({"code": "NOPE"}, "subscription.plan.products.0.code"),
    ({"code": "FEE", "purchase": False}, "subscription.plan.products.0.purchase"),
    ({"code": "FEE", "quantity": "0"}, "subscription.plan.products.0.quantity"),
    ({"code": "FEE", "value": 1.5}, "subscription.plan.products.0.value"),
    ({"code": "FEE", "bundle": "OTHER"}, "subscription.plan.products.0.code"),
])
def test_a_bad_product_choice_is_refused_naming_the_field(choice, field):
    with pytest.raises(ValidationFailed) as error:
        snapshot_products(PLAN, [choice], None, counter())
    assert field in error.value.fields


def test_a_product_listed_twice_is_refused():
    with pytest.raises(ValidationFailed) as error:
        snapshot_products(PLAN, [{"code": "FEE"}, {"code": "FEE"}], None, counter())
    assert "subscription.plan.products.1.code" in error.value.fields


def test_payment_type_and_resource_must_fit_the_plan():
    with pytest.raises(ValidationFailed) as error:
        check_plan_choice(PLAN, {"paymentType": "prepaid"}, {"kind": "unit"})
    assert set(error.value.fields) == {"subscription.paymentType", "subscription.resource"}


def test_a_voucher_bundle_reuses_the_identifier_of_its_service_type():
    bundle = {"code": "ADDON", "version": 1, "products": [
        {"code": "XDATA", "version": 1, "name": "X", "type": "service", "serviceType": "data",
         "defaultQuantity": "1", "defaultValue": None}]}
    added = promotion_products({"code": "V1", "kind": "voucher"}, bundle, {"data": "777"}, counter())
    assert added[0]["serviceIdentifier"] == "777" and added[0]["promoCode"] == "V1"
    coupon = promotion_products({"code": "C", "kind": "coupon", "discount": {
        "code": "D", "version": 1, "name": "D", "type": "discount"}}, None, {}, counter())
    assert coupon[0]["bundleCode"] is None and coupon[0]["purchased"]


def test_service_identifiers_are_taken_from_purchased_service_products():
    products, _ = snapshot_products(PLAN, [], "9", counter())
    assert service_identifiers(products) == {"voice": "9", "data": "9"}


def test_epoch_identifiers_are_milliseconds_and_strictly_increasing():
    identifiers = EpochIdentifiers(clock=lambda: 1700000000.0)
    assert [identifiers.next() for _ in range(3)] == ["1700000000000", "1700000000001", "1700000000002"]


def test_the_request_fingerprint_ignores_key_order():
    assert request_fingerprint({"a": 1, "b": [1, 2]}) == request_fingerprint({"b": [1, 2], "a": 1})
    assert request_fingerprint({"a": 1}) != request_fingerprint({"a": 2})


def test_service_field_errors_become_request_paths():
    error = Conflict("x", {"products.1.serviceIdentifier": "in use"})
    assert step_fields("subscription", error, ["a", "subscription.serviceIdentifier"]) == {
        "subscription.serviceIdentifier": "in use"}
    assert step_fields("billingProfile", ValidationFailed("x", {"billingDay": "bad"}), []) == {
        "subscription.billingDay": "bad"}
    assert step_fields("customer", ValidationFailed("x", {"paymentInfo.iban": "bad", "country": "bad"}), []) == {
        "paymentInfo.iban": "bad", "account.country": "bad"}


def test_the_operator_problem_names_the_failed_step_and_whether_it_was_undone():
    problem = OnboardingFailed("failed", {"f": "r"}, status=409, code="conflict", title="Conflict",
                               onboarding_id="o1", failed_step="subscription", compensated=True).to_problem("/x")
    assert problem["status"] == 409 and problem["failedStep"] == "subscription" and problem["compensated"] is True
    assert problem["onboardingId"] == "o1" and problem["invalid_params"] == [{"name": "f", "reason": "r"}]


# Purchases on an existing customer (add subscription, add-on, plan transition).
def test_errors_name_the_fields_of_the_purchase_request_not_of_onboarding():
    try:
        snapshot_products(PLAN, [{"code": "FEE", "purchase": False}, {"code": "NOPE"}], None, counter(),
                          "plan.products", "serviceIdentifier")
    except ValidationFailed as error:
        assert set(error.fields) == {"plan.products.0.purchase", "plan.products.1.code"}
    else:
        raise AssertionError("a product that is not optional cannot be left out")


def test_an_add_on_service_product_takes_the_identifier_its_type_already_has_on_the_subscription():
    products, origins = snapshot_products(PLAN, [], None, counter(), "products", "serviceIdentifier",
                                          known={"voice": "38640111222"})
    identifiers = {p["code"]: p["serviceIdentifier"] for p in products if p["type"] == "service"}
    assert identifiers == {"VOICE": "38640111222", "DATA": "1000"}  # data is new: an epoch-style identifier
    assert origins[0] == "serviceIdentifier"


def test_the_snapshot_carries_the_fee_terms_billing_charges_from():
    plan = {**PLAN, "bundles": [{**PLAN["bundles"][0], "products": [
        {**PLAN["bundles"][0]["products"][2], "amount": "19.99", "interval": {"unit": "month", "count": 1},
         "proration": "daily", "tax": "VAT", "glCode": "4100"},
        {**PLAN["bundles"][0]["products"][0], "priceResource": "EUR"}]}]}
    fee, voice = snapshot_products(plan, [], "1", counter())[0]
    assert (fee["currency"], fee["interval"], fee["proration"], fee["tax"], fee["glCode"], fee["optional"]) == (
        "EUR", {"unit": "month", "count": 1}, "daily", "VAT", "4100", False)
    assert voice["currency"] == "EUR"  # a service product is priced in its price resource


def test_an_identifier_conflict_points_where_the_identifier_came_from():
    origins = ["plan.products", "serviceIdentifier", "plan.products.2.serviceIdentifier"]
    named = request_fields({"products.2.serviceIdentifier": "in use", "products.5.serviceIdentifier": "in use",
                            "balanceGroupId": "wrong"}, origins + ["promoCodes"] * 3)
    assert named == {"plan.products.2.serviceIdentifier": "in use", "promoCodes": "in use",
                     "balanceGroupId": "wrong"}
