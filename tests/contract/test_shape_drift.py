"""One shape, one source. A wire shape is declared once: an OpenAPI component of contracts/http/ (what the
HTTP layer validates) or a JSON Schema of contracts/rpc/schemas/ (an RPC payload that crosses services). The
services' marshmallow schemas are generated from it by chassis.shapes, adding by hand only what a schema cannot
say. These tests fail when a second declaration appears or drifts:

- a service schema that names a component must be that component's generated class, every field as the
  component says (an override keeps the component's required / nullable / default / wire name);
- a hand-written marshmallow schema that declares exactly a component's properties is a second declaration;
- the product snapshot the gateway builds is valid under the schema rating loads it with.
"""
import importlib
import inspect
from typing import Any

import jsonschema
import pytest
from marshmallow import Schema, missing, validate
from marshmallow import fields as mm_fields

from catalog import schemas as catalog_schemas
from chassis.shapes import components, properties_of, rpc_documents, rpc_schema, rpc_shape, shape
from customer import schemas as customer_schemas
from gateway.domain import onboarding as onboarding_rules
from rating import schemas as rating_schemas

SCHEMA_MODULES = ["customer.schemas", "catalog.schemas", "rating.schemas", "rating.usage_schemas",
                  "rating.balance_schemas", "billing.schemas", "billing.payment_schemas", "notification.schemas",
                  "selfcare.schemas"]

# Hand-written schemas whose fields happen to equal a component's, and why they are not that shape.
NOT_THE_SAME_SHAPE = {
    "billing.schemas.HierarchyGroupSchema": "a group without its members and owner name (HierarchyGroup has them)",
}



def _schema_classes() -> list[tuple[str, type[Schema]]]:
    found, seen = [], set()
    for module_name in SCHEMA_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if not (inspect.isclass(value) and issubclass(value, Schema)) or value in seen:
                continue
            # A class rpc_shape()/shape() returns, assigned by name, lives in chassis.shapes: it is ours too.
            generated_here = hasattr(value, "__shape__") and value.__module__ == "chassis.shapes"
            if value.__module__ == module_name or generated_here:
                seen.add(value)
                found.append((f"{module_name}.{name}", value))
    return found


GENERATED = [(name, cls) for name, cls in _schema_classes() if hasattr(cls, "__shape__")]


def describe(field: mm_fields.Field) -> dict[str, Any]:
    """What a field says about its wire value, nested fields included."""
    default = field.load_default
    found: dict[str, Any] = {
        "class": type(field).__name__, "required": field.required, "allow_none": field.allow_none,
        "dump_only": field.dump_only, "load_only": field.load_only, "data_key": field.data_key,
        "default": (default() if callable(default) else default) if default is not missing else "(absent)",
        "rules": sorted(repr(rule) for rule in field.validators)}
    if isinstance(field, mm_fields.List):
        found["items"] = describe(field.inner)
    if isinstance(field, mm_fields.Nested):
        found["nested"] = {key: describe(inner) for key, inner in field.schema.fields.items()}
    if isinstance(field, mm_fields.Dict) and field.value_field is not None:
        found["values"] = describe(field.value_field)
    return found


AS_THE_CONTRACT_SAYS = ("required", "allow_none", "dump_only", "load_only", "data_key", "default")


def _fresh(cls: type[Schema]) -> Schema:
    origin = cls.__shape__
    if origin.source.startswith("contracts/rpc/"):
        return rpc_shape(origin.component, defaults=origin.defaults, absent_is_null=origin.absent_is_null)()
    return shape(origin.component, spec=origin.source.split("/")[-1].split(".")[0], defaults=origin.defaults,
                 absent_is_null=origin.absent_is_null, attributes=origin.attributes)()


@pytest.mark.parametrize(("name", "cls"), GENERATED, ids=[name for name, _ in GENERATED])
def test_a_generated_schema_declares_every_field_as_its_component_says(name, cls):
    """A field redeclared by hand on the generated class, or an override that drops what the component says
    (required, nullable, default, wire name), is a second declaration that drifts."""
    origin, contract = cls.__shape__, _fresh(cls).fields
    ours = cls().fields
    assert set(ours) == set(contract), f"{name}: fields differ from {origin.source}"
    drifted = []
    for key, field in ours.items():
        mine, theirs = describe(field), describe(contract[key])
        wire = contract[key].data_key or key
        compared = AS_THE_CONTRACT_SAYS if wire in origin.overridden else mine.keys()
        if isinstance(field, (mm_fields.Function, mm_fields.Method)):  # computed for output: dump-only by nature
            compared = [aspect for aspect in compared if aspect not in ("dump_only", "default")]
        drifted += [f"{wire}.{aspect}: {mine[aspect]!r} != {theirs[aspect]!r}" for aspect in compared
                    if aspect != "rules" and mine[aspect] != theirs[aspect]]
    assert drifted == [], f"{name} drifted from {origin.source}"


def _component_properties() -> dict[tuple[str, str], set[str]]:
    found = {}
    for spec in ("gateway", "selfcare"):
        schemas = components(spec)
        for component, node in schemas.items():
            properties = set(properties_of(schemas, node)[0])
            if len(properties) >= 2:
                found[(spec, component)] = properties
    return found


def test_no_hand_written_schema_declares_a_component_again():
    properties = _component_properties()
    again = []
    for name, cls in _schema_classes():
        if hasattr(cls, "__shape__") or name in NOT_THE_SAME_SHAPE:
            continue
        keys = {field.data_key or key for key, field in cls().fields.items()}
        same = [component for component, declared in properties.items() if declared == keys]
        if same:
            again.append(f"{name} declares {same[0][1]} of contracts/http/{same[0][0]}.yaml again: generate it "
                         f"with chassis.shapes.shape({same[0][1]!r})")
    assert again == []


def test_every_exception_still_names_a_hand_written_schema():
    names = {name for name, cls in _schema_classes() if not hasattr(cls, "__shape__")}
    assert set(NOT_THE_SAME_SHAPE) <= names, sorted(set(NOT_THE_SAME_SHAPE) - names)


# -- rules a client can read in the contract --------------------------------------------------------------------

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
            found["enum"] = sorted(str(getattr(choice, "value", choice)) for choice in rule.choices)
        elif isinstance(rule, validate.Range):
            found.update({k: v for k, v in (("minimum", rule.min), ("maximum", rule.max)) if v is not None})
    return found


def _resolved(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node or len(node.get("allOf", [])) == 1:
        outer = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
        inner = schemas[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node["allOf"][0]
        node = {**inner, **outer} if "$ref" not in inner else {**_resolved(schemas, inner), **outer}
    return node


@pytest.mark.parametrize(("name", "cls"), GENERATED, ids=[name for name, _ in GENERATED])
def test_the_contract_states_every_rule_the_service_applies_to_an_input_field(name, cls):
    """A pattern, length, choice or range the service checks is in the contract too, overrides included
    (issue 15: "the contract tells the truth")."""
    origin = cls.__shape__
    if origin.source.startswith("contracts/rpc/"):
        schemas = rpc_documents(origin.component)
    else:
        schemas = components(origin.source.split("/")[-1].split(".")[0])
    properties = properties_of(schemas, schemas[origin.component])[0]
    missing_rules = []
    for key, field in cls().fields.items():
        wire = field.data_key or key
        if field.dump_only or wire not in properties:
            continue
        stated = _resolved(schemas, properties[wire])
        for rule, value in rules(field).items():
            said = stated.get(rule)
            if rule == "enum" and said is not None:
                said = sorted(str(v) for v in said if v is not None)
            if said != value:
                missing_rules.append(f"{wire}.{rule}: the service checks {value!r}, the contract says {said!r}")
    assert missing_rules == []


# -- the product snapshot: built by the gateway, loaded by rating ------------------------------------------------

def test_ratings_snapshot_loader_is_generated_from_the_product_snapshot_schema():
    schema = rpc_schema("subscription-product.v1")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert rating_schemas.ProductInSchema.__shape__.source == "contracts/rpc/schemas/subscription-product.v1.json"


def test_the_snapshot_the_gateway_builds_is_valid_under_the_product_snapshot_schema_and_loads_in_rating():
    plan = {"code": "P", "version": 1, "name": "Plan", "bundles": [{"code": "B", "version": 2, "products": [
        {"code": "VOICE", "version": 1, "name": "Voice", "type": "service", "serviceType": "voice",
         "optional": False, "defaultQuantity": "1", "defaultValue": None, "resource": "MIN", "freeUnits": "100",
         "defaultValidity": {"unit": "month", "count": 1}},
        {"code": "FEE", "version": 3, "name": "Fee", "type": "recurring_fee", "serviceType": None,
         "optional": True, "defaultQuantity": "1", "defaultValue": "19.99", "resource": "EUR"}]}]}
    ids = iter(range(10**6, 10**7))
    products, _ = onboarding_rules.snapshot_products(plan, [{"code": "FEE", "purchase": True}], None,
                                                     lambda: str(next(ids)))
    validator = jsonschema.Draft202012Validator(rpc_schema("subscription-product.v1"))
    for product in products:
        assert not list(validator.iter_errors(product)), product
        rating_schemas.ProductInSchema().load(product)


# -- components that repeat another component's fields ----------------------------------------------------------

@pytest.mark.parametrize(("patch", "whole"), [("ContactPatch", "Contact"), ("PortalUserPatch", "PortalUserCreate")])
def test_a_patch_component_offers_the_fields_of_its_shape_with_the_same_rules(patch, whole):
    schemas = components("gateway")
    patch_props, whole_props = properties_of(schemas, schemas[patch])[0], properties_of(schemas, schemas[whole])[0]
    assert set(patch_props) == set(whole_props)
    for key, prop in patch_props.items():
        assert {k: v for k, v in prop.items() if k not in ("description", "default")} == {
            k: v for k, v in whole_props[key].items() if k not in ("description", "default")}, key


def _json_types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a property allows, in JSON Schema words (OpenAPI's `nullable` is a null type)."""
    kinds = prop.get("type") or sorted({type(v).__name__.replace("str", "string").replace("NoneType", "null")
                                        for v in prop.get("enum", [])})
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    return kinds | ({"null"} if prop.get("nullable") or None in prop.get("enum", []) else set())


# The snapshot's members rating keeps in another form: validity as validityUnit / validityCount, the
# service identifier on the service it creates.
KEPT_OTHERWISE = {"validity", "serviceIdentifier"}


def test_a_purchased_product_returns_every_member_of_the_snapshot_it_was_bought_with_as_the_snapshot_says():
    snapshot = rpc_schema("subscription-product.v1")["properties"]
    schemas = components("gateway")
    returned = properties_of(schemas, schemas["PurchasedProduct"])[0]
    missing = sorted(set(snapshot) - KEPT_OTHERWISE - set(returned))
    assert missing == [], "snapshot members PurchasedProduct does not declare"
    differ = {name: (sorted(_json_types(snapshot[name])), sorted(_json_types(returned[name])))
              for name in set(snapshot) - KEPT_OTHERWISE
              if _json_types(snapshot[name]) != _json_types(returned[name])
              or sorted(map(str, snapshot[name].get("enum", []))) != sorted(map(str, returned[name].get("enum", [])))}
    assert differ == {}, "(snapshot, PurchasedProduct) types"


def test_ratings_subscription_and_product_output_schemas_are_generated():
    assert rating_schemas.SubscriptionSchema.__shape__.component == "Subscription"
    assert rating_schemas.ProductSchema.__shape__.component == "PurchasedProduct"
    assert rating_schemas.SharingGroupSchema.__shape__.component == "SharingGroup"


def test_the_customer_and_catalog_schemas_are_generated():
    assert customer_schemas.CustomerCreateSchema.__shape__.component == "CustomerCreate"
    assert catalog_schemas.ProductSchema.__shape__.component == "CatalogProduct"


# -- domain constants that restate a contract's default or choices -----------------------------------------------

def _property(component: str, *path: str) -> dict[str, Any]:
    schemas = components("gateway")
    node = properties_of(schemas, schemas[component])[0][path[0]]
    for step in path[1:]:
        node = node[step]
    return node


def test_the_domains_defaults_and_choices_are_the_contracts():
    from billing.domain.profiles import DEFAULT_PAYMENT_TERMS_DAYS
    from catalog.domain.model import CONSUMPTION_CRITERIA
    from notification.domain.messages import EVENT_TYPES
    from rating.domain.balances import DEFAULT_CONSUMPTION_ORDER

    assert _property("BillingProfileCreate", "paymentTermsDays")["default"] == DEFAULT_PAYMENT_TERMS_DAYS
    assert _property("CatalogResource", "consumptionOrder")["default"] == list(DEFAULT_CONSUMPTION_ORDER)
    assert _property("CatalogResource", "consumptionOrder", "items")["enum"] == CONSUMPTION_CRITERIA
    assert sorted(_property("WebhookEndpointInput", "eventTypes", "items")["enum"]) == sorted(EVENT_TYPES)
