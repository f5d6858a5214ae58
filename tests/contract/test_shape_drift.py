"""One shape, one source: where a shape is declared twice (an OpenAPI component and the marshmallow schema a
service loads or dumps it with; an RPC payload's JSON Schema, its producer and its consumer), the
declarations must name the same fields and require the same ones. A field added on one side only fails here.
"""
import json
from typing import Any

import jsonschema
import pytest
from marshmallow import fields as mm_fields
from marshmallow import validate

from catalog import schemas as catalog_schemas
from chassis.contracts import contracts_dir, http_spec
from customer import schemas as customer_schemas
from gateway.domain import onboarding as onboarding_rules
from rating import schemas as rating_schemas

# (marshmallow schema, OpenAPI component of the gateway) declaring one wire shape.
PAIRS = [
    (customer_schemas.CustomerCreateSchema, "CustomerCreate"),
    (customer_schemas.AccountPatchSchema, "AccountPatch"),
    (customer_schemas.ContactSchema, "Contact"),
    (customer_schemas.ContactSchema, "ContactPatch"),
    (customer_schemas.CreditCardSchema, "CreditCard"),
    (customer_schemas.DirectDebitSchema, "DirectDebit"),
    (customer_schemas.PaymentInfoSchema, "PaymentInfoInput"),
    (customer_schemas.CustomerOut, "Customer"),
    (customer_schemas.ContactOut, "Contact"),
    (customer_schemas.PaymentInfoOut, "PaymentInfo"),
    (customer_schemas.AddressOut, "Address"),
    (customer_schemas.CreditCardOut, "CreditCard"),
    (customer_schemas.DirectDebitOut, "DirectDebit"),
    *[(getattr(catalog_schemas, f"{name}Schema"), f"Catalog{name}") for name in (
        "Resource", "ServiceType", "CustomerType", "CustomAttribute", "Tax", "CreditProfile", "SharingPolicy",
        "Coupon", "Product", "Bundle", "Plan", "Ref", "VoucherBatch", "Voucher")],
    (rating_schemas.BalanceGroupSchema, "BalanceGroup"),
    (rating_schemas.BalanceGroupEditSchema, "BalanceGroupEdit"),
]
INPUTS = {"CustomerCreate", "AccountPatch", "Contact", "CreditCard", "DirectDebit", "PaymentInfoInput",
          "BalanceGroupEdit"} | {
    f"Catalog{name}" for name in ("Resource", "ServiceType", "CustomerType", "CustomAttribute", "Tax",
                                  "CreditProfile", "SharingPolicy", "Coupon", "Product", "Bundle", "Plan",
                                  "Ref", "VoucherBatch", "Voucher")}
COMPONENTS = http_spec("gateway")["components"]["schemas"]


def component(name: str) -> tuple[set[str], set[str]]:
    """(properties, required) of a component, `allOf` parts included."""
    schema = COMPONENTS[name]
    properties, required = set(schema.get("properties", {})), set(schema.get("required", []))
    for part in schema.get("allOf", []):
        inner = component(part["$ref"].rsplit("/", 1)[-1]) if "$ref" in part else (
            set(part.get("properties", {})), set(part.get("required", [])))
        properties |= inner[0]
        required |= inner[1]
    return properties, required


def marshmallow(schema: Any) -> tuple[set[str], set[str]]:
    fields = schema().fields.items()
    return {f.data_key or n for n, f in fields}, {f.data_key or n for n, f in fields if f.required}


@pytest.mark.parametrize(("schema", "name"), PAIRS, ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_a_marshmallow_schema_and_its_openapi_component_declare_the_same_fields(schema, name):
    declared, required = marshmallow(schema)
    properties, contract_required = component(name)
    assert declared == properties, (f"only in {schema.__name__}: {sorted(declared - properties)}; "
                                    f"only in {name}: {sorted(properties - declared)}")
    if name in INPUTS and schema.__name__.endswith("Schema"):
        assert required == contract_required, f"required differ: {sorted(required ^ contract_required)}"


def component_properties(name: str) -> dict[str, Any]:
    """A component's properties, `allOf` parts included, each `$ref` resolved."""
    schema = COMPONENTS[name]
    found = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found.update(component_properties(part["$ref"].rsplit("/", 1)[-1]) if "$ref" in part
                     else part.get("properties", {}))
    return {key: _resolved(value) for key, value in found.items()}


def _resolved(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = COMPONENTS[node["$ref"].rsplit("/", 1)[-1]]
    return node


def rules(field: Any) -> dict[str, Any]:
    """What a marshmallow field's validators require, in JSON Schema words."""
    found: dict[str, Any] = {}
    many = isinstance(field, mm_fields.List)
    for rule in field.validators:
        if isinstance(rule, validate.Regexp):
            found["pattern"] = rule.regex.pattern
        elif isinstance(rule, validate.Length):
            low, high = ("minItems", "maxItems") if many else ("minLength", "maxLength")
            found.update({k: v for k, v in ((low, rule.min), (high, rule.max)) if v is not None})
        elif isinstance(rule, validate.OneOf):
            found["enum"] = sorted(map(str, rule.choices))
        elif isinstance(rule, validate.Range):
            found.update({k: v for k, v in (("minimum", rule.min), ("maximum", rule.max)) if v is not None})
    return found


INPUT_PAIRS = [(schema, name) for schema, name in PAIRS if name in INPUTS and schema.__name__.endswith("Schema")]


@pytest.mark.parametrize(("schema", "name"), INPUT_PAIRS, ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_the_contract_states_every_rule_the_service_applies_to_an_input_field(schema, name):
    """A client can know the rules from the contract: a pattern, length, choice or range the service checks is
    in the OpenAPI component too (issue 15: "the contract tells the truth")."""
    properties = component_properties(name)
    missing = []
    for field_name, field in schema().fields.items():
        key = field.data_key or field_name
        if field.dump_only or key not in properties:
            continue
        for rule, value in rules(field).items():
            stated = properties[key].get(rule)
            if rule == "enum" and stated is not None:
                stated = sorted(map(str, stated))
            if stated != value:
                missing.append(f"{key}.{rule}: the service checks {value!r}, the contract says {stated!r}")
    assert missing == []


def product_snapshot_schema() -> dict[str, Any]:
    return json.loads((contracts_dir() / "rpc" / "schemas" / "subscription-product.v1.json").read_text())


def test_the_product_snapshot_schema_and_ratings_loader_declare_the_same_fields():
    schema = product_snapshot_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    declared, required = marshmallow(rating_schemas.ProductInSchema)
    assert declared == set(schema["properties"])
    assert required == set(schema["required"])


def test_the_snapshot_the_gateway_builds_is_valid_under_the_product_snapshot_schema():
    plan = {"code": "P", "version": 1, "name": "Plan", "bundles": [{"code": "B", "version": 2, "products": [
        {"code": "VOICE", "version": 1, "name": "Voice", "type": "service", "serviceType": "voice",
         "optional": False, "defaultQuantity": "1", "defaultValue": None, "resource": "MIN", "freeUnits": "100",
         "defaultValidity": {"unit": "month", "count": 1}},
        {"code": "FEE", "version": 3, "name": "Fee", "type": "recurring_fee", "serviceType": None,
         "optional": True, "defaultQuantity": "1", "defaultValue": "19.99", "resource": "EUR"}]}]}
    ids = iter(range(10**6, 10**7))
    products, _ = onboarding_rules.snapshot_products(plan, [{"code": "FEE", "purchase": True}], None,
                                                     lambda: str(next(ids)))
    validator = jsonschema.Draft202012Validator(product_snapshot_schema())
    for product in products:
        assert not list(validator.iter_errors(product)), product
    assert set(products[0]) <= set(product_snapshot_schema()["properties"])
