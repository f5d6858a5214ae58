from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from catalog.domain import rules
from catalog.schemas import ProductSchema
from chassis.errors import Conflict, ValidationFailed


def problems_of(fn, *args, **kwargs):
    with pytest.raises(ValidationFailed) as failed:
        fn(*args, **kwargs)
    return failed.value.fields


def rate(price="0.10", **key):
    return {"key": key, "price_per_unit": Decimal(price), "unit_size": Decimal(1), "rounding": "up"}


def table(keys, *rates):
    return {"keys": keys, "rates": list(rates)}


def check_table(refs, tbl):
    problems = rules.Problems()
    rules.check_rate_table(tbl, refs.service_type("voice"), problems)
    problems.raise_if_any()


FULL = table(["destination", "timeBand"], rate(destination="national", timeBand="*"),
             rate(destination="eu", timeBand="*"), rate(destination="international", timeBand="peak"),
             rate(destination="international", timeBand="offpeak"))


def test_a_rate_table_covering_every_enum_combination_once_is_accepted(refs):
    check_table(refs, FULL)
    check_table(refs, table(["destination"], rate(destination="*")))
    check_table(refs, table(["country"], rate(country="DE"), rate(country="FR")))  # free text: no coverage rule


def test_overlapping_rates_are_refused_naming_the_later_row(refs):
    overlapping = table(["destination"], rate(destination="national"), rate(destination="*"))
    assert problems_of(check_table, refs, overlapping) == {
        "rateTable.rates.1.key": "overlaps rate 0 (destination=national)"}
    duplicate = table(["country"], rate(country="DE"), rate(country="DE"))
    assert "rateTable.rates.1.key" in problems_of(check_table, refs, duplicate)


def test_a_missing_combination_of_enum_values_is_refused(refs):
    partial = table(["destination", "timeBand"], rate(destination="national", timeBand="*"),
                    rate(destination="international", timeBand="peak"))
    reason = problems_of(check_table, refs, partial)["rateTable.rates"]
    assert "missing keys" in reason and "destination=eu, timeBand=offpeak" in reason
    assert "destination=international, timeBand=offpeak" in reason


def test_a_row_missing_a_key_or_naming_an_unknown_one_or_value_is_refused(refs):
    assert problems_of(check_table, refs, table(["destination", "timeBand"], rate(destination="*"))) == {
        "rateTable.rates.0.key.timeBand": 'missing key (use "*" to match any value)'}
    assert "rateTable.rates.0.key.zone" in problems_of(check_table, refs, table(["destination"], rate(
        destination="*", zone="x")))
    assert "rateTable.rates.0.key.destination" in problems_of(check_table, refs, table(["destination"], rate(
        destination="mars")))
    assert "rateTable.keys.0" in problems_of(check_table, refs, table(["to"], rate(to="*")))  # not rating set
    assert "rateTable.rates" in problems_of(check_table, refs, table(["destination"]))


SERVICE = {"code": "V", "name": "Voice", "type": "service", "serviceType": "voice", "resource": "MIN",
           "priceResource": "EUR", "freeUnits": "100", "tax": "VAT",
           "rateTable": {"keys": ["destination"], "rates": [{"key": {"destination": "*"}, "pricePerUnit": "0.1"}]}}


def product(refs, **change):
    return rules.check_product(ProductSchema().load({**SERVICE, **change}), refs)


def test_a_service_product_needs_known_resources_of_the_right_kind_and_a_known_service_type(refs):
    assert product(refs)["free_units"] == Decimal(100)
    assert problems_of(product, refs, resource="EUR") == {
        "resource": "resource 'EUR' is monetary, a unit resource is needed"}
    assert set(problems_of(product, refs, priceResource="GOLD", serviceType="fax")) == {"priceResource", "serviceType"}
    assert problems_of(product, refs, tax="NONE") == {"tax": "unknown tax 'NONE'"}
    assert set(problems_of(product, refs, amount="3", interval={"unit": "month"})) == {"amount", "interval"}


def test_fee_and_discount_products_carry_only_their_own_fields(refs):
    fee = {"code": "F", "name": "Fee", "type": "recurring_fee", "amount": "9.99", "resource": "EUR",
           "interval": {"unit": "month"}}
    assert rules.check_product(ProductSchema().load(fee), refs)["proration"] == "daily"
    assert set(problems_of(rules.check_product, ProductSchema().load({**fee, "type": "one_time_fee"}), refs)) == {
        "interval"}
    assert set(problems_of(rules.check_product, ProductSchema().load({**fee, "amount": None}), refs)) == {"amount"}
    discount = {"code": "D", "name": "D", "type": "discount", "discount": {"kind": "percentage", "value": "120"}}
    assert set(problems_of(rules.check_product, ProductSchema().load(discount), refs)) == {"discount.value"}
    amount_off = {**discount, "discount": {"kind": "amount", "value": "5", "appliesTo": {"products": ["NOPE"]}}}
    assert set(problems_of(rules.check_product, ProductSchema().load(amount_off), refs)) == {
        "resource", "discount.appliesTo.products.0"}


def test_default_value_is_the_fee_the_discount_or_the_free_units():
    assert rules.default_value({"amount": Decimal("9.99")}) == Decimal("9.99")
    assert rules.default_value({"discount": {"value": Decimal(10)}}) == Decimal(10)
    assert rules.default_value({"free_units": Decimal(100)}) == Decimal(100)
    assert rules.default_value({}) is None


def test_bundles_and_plans_pin_the_versions_they_refer_to(refs):
    refs.add("product", "P", 1, "retired")
    refs.add("product", "P", 2, "active")
    refs.add("bundle", "B", 1, "active", add_on=False)
    refs.add("bundle", "ADD", 1, "draft", add_on=True)
    assert rules.check_bundle({"products": [{"code": "P", "version": None}]}, refs)["products"] == [
        {"code": "P", "version": 2}]
    assert problems_of(rules.check_bundle, {"products": [{"code": "P", "version": 1}]}, refs) == {
        "products.0.version": "product P version 1 is retired"}
    assert set(problems_of(rules.check_bundle, {"products": [{"code": "X", "version": None},
                                                             {"code": "P"}, {"code": "P"}]}, refs)) == {
        "products.0.code", "products.2.code"}
    plan = rules.check_plan({"payment_types": ["prepaid"], "bundles": [{"code": "B"}], "add_ons": [{"code": "ADD"}]},
                            refs)
    assert plan["add_ons"] == [{"code": "ADD", "version": 1}]
    assert set(problems_of(rules.check_plan, {"payment_types": ["prepaid", "prepaid"], "bundles": [{"code": "ADD"}],
                                              "add_ons": [{"code": "B"}]}, refs)) == {
        "paymentTypes", "bundles.0.code", "addOns.0.code"}


def test_only_a_draft_is_edited_or_published_and_only_an_active_version_is_retired():
    draft = {"code": "P", "version": 1, "status": "draft"}
    active = {**draft, "status": "active"}
    rules.ensure_editable("product", draft)
    with pytest.raises(Conflict, match="publish a new version"):
        rules.ensure_editable("product", active)
    with pytest.raises(Conflict):
        rules.ensure_editable("product", {**draft, "status": "retired"})
    rules.ensure_publishable("bundle", draft, [{"kind": "product", "code": "A", "version": 1, "status": "active"}])
    with pytest.raises(Conflict, match="product A version 1 \\(draft\\)"):
        rules.ensure_publishable("bundle", draft, [{"kind": "product", "code": "A", "version": 1, "status": "draft"}])
    with pytest.raises(Conflict):
        rules.ensure_publishable("bundle", active, [])
    rules.ensure_retirable("plan", active)
    with pytest.raises(Conflict):
        rules.ensure_retirable("plan", draft)


def test_a_monetary_resource_takes_its_minor_units_from_iso_4217():
    assert rules.check_resource({"kind": "monetary", "currency": "JPY", "consumption_order": []})["minor_units"] == 0
    assert problems_of(rules.check_resource, {"kind": "monetary", "currency": "EUR", "minor_units": 3}) == {
        "minorUnits": "EUR has 2 minor units"}
    assert set(problems_of(rules.check_resource, {"kind": "unit", "currency": "EUR", "consumption_order": [
        "earliestExpiry", "latestExpiry"]})) == {"unit", "currency", "consumptionOrder"}


def test_enum_fields_need_allowed_values_and_other_fields_must_not_have_them():
    fields = [{"name": "a", "type": "enum", "role": "ratingSet"},
              {"name": "b", "type": "string", "role": "optional", "allowed_values": ["x"]},
              {"name": "a", "type": "integer", "role": "optional"}]
    assert set(problems_of(rules.check_service_type, {"fields": fields})) == {
        "fields.0.allowedValues", "fields.1.allowedValues", "fields.2.name"}


DEFINITIONS = {"segment": {"type": "enum", "allowed_values": ["smb", "consumer"]}, "score": {"type": "integer"},
               "limit": {"type": "decimal"}, "since": {"type": "datetime"}, "vip": {"type": "boolean"},
               "note": {"type": "string"}}


def test_custom_attribute_values_are_normalized_and_all_are_optional():
    assert rules.normalize_attributes(DEFINITIONS, {
        "segment": "smb", "score": "42", "limit": "10.50", "since": "2025-01-01T01:00:00+01:00", "vip": True,
        "note": None}) == {"segment": "smb", "score": 42, "limit": "10.50", "since": "2025-01-01T00:00:00+00:00",
                           "vip": True}
    assert rules.normalize_attributes(DEFINITIONS, {}) == {}


def test_unknown_attributes_and_bad_values_are_named_one_by_one():
    fields = problems_of(rules.normalize_attributes, DEFINITIONS, {
        "segment": "galaxy", "score": 1.5, "limit": 0.1, "since": "2025-01-01T00:00:00", "vip": "yes", "age": 3})
    assert set(fields) == {f"customAttributes.{n}" for n in ("segment", "score", "limit", "since", "vip", "age")}
    assert fields["customAttributes.age"] == "unknown custom attribute"


def test_credit_thresholds_stay_within_their_limit(refs):
    profile = {"limits": [{"resource": "EUR", "credit_limit": Decimal(100), "thresholds": [
        {"kind": "percent", "value": Decimal(80)}, {"kind": "amount", "value": Decimal(150)}]},
        {"resource": "EUR", "credit_limit": Decimal(1), "thresholds": []}]}
    assert set(problems_of(rules.check_credit_profile, profile, refs)) == {"limits.0.thresholds.1.value",
                                                                          "limits.1.resource"}


def test_a_promotion_is_valid_only_inside_its_window():
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert rules.promotion_window_problem(now - timedelta(days=1), None, now) is None
    assert "not valid before" in rules.promotion_window_problem(now + timedelta(days=1), None, now)
    assert "expired" in rules.promotion_window_problem(now - timedelta(days=9), now, now)
