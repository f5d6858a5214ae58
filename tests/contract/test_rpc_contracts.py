"""Every RPC method is declared in contracts/rpc/<service>.yaml, with the parameters its Python signature
takes (named as on the wire, in order), and every declared schema is a valid JSON Schema whose `$ref`s name
shapes that exist. A parameter that names an HTTP component is loaded by the service with a marshmallow
schema generated from that very component (chassis.shapes), so the declaration and the loader cannot drift.
"""
import importlib
import inspect
from typing import Any

import jsonschema_rs
import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from chassis import rpc_contracts
from chassis.contracts import contracts_dir

WORKERS = {
    "customer": ("customer.entrypoints.worker:CustomerService", ["customer.schemas"]),
    "catalog": ("catalog.entrypoints.worker:CatalogService", ["catalog.schemas"]),
    "rating": ("rating.entrypoints.worker:RatingService",
               ["rating.schemas", "rating.usage_schemas", "rating.balance_schemas"]),
    "billing": ("billing.entrypoints.worker:BillingService", ["billing.schemas", "billing.payment_schemas"]),
    "notification": ("notification.entrypoints.worker:NotificationService", ["notification.schemas"]),
    "selfcare": ("selfcare.entrypoints.worker:SelfcareService", ["selfcare.schemas"]),
    "gateway": ("gateway.entrypoints.worker:GatewayService", []),
    # Not a nameko worker: rating's charging process (chassis.rpc_batch) and its table of methods.
    "rating_charging": ("rating.entrypoints.charging:METHODS", ["rating.schemas"]),
}


def _worker(service: str) -> type:
    module, name = WORKERS[service][0].split(":")
    return getattr(importlib.import_module(module), name)


def rpc_methods(service: str) -> dict[str, Any]:
    cls = _worker(service)
    if isinstance(cls, dict):  # a batch RPC server's methods
        return dict(cls)
    return {name: getattr(cls, name) for name in dir(cls)
            if any(isinstance(ext, Rpc) for ext in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()))}


def test_every_service_with_rpc_methods_has_a_contract_and_no_contract_is_orphaned():
    declared = {path.stem for path in (contracts_dir() / "rpc").glob("*.yaml")} - {rpc_contracts.WORKER_BASE}
    assert declared == set(WORKERS)


@pytest.mark.parametrize("service", sorted(WORKERS))
def test_every_rpc_method_is_declared_with_the_parameters_it_takes(service):
    methods, declared = rpc_methods(service), rpc_contracts.declaration(service)
    assert sorted(set(methods) - set(declared)) == [], "undeclared @rpc methods"
    assert sorted(set(declared) - set(methods)) == [], "declared methods that no worker offers"
    wrong = {}
    for name, fn in methods.items():
        python = [rpc_contracts.camel(p) for p in rpc_contracts.python_parameters(inspect.unwrap(fn))]
        if python != list(declared[name].get("params") or {}):
            wrong[name] = (python, list(declared[name].get("params") or {}))
    assert wrong == {}, "(Python parameters, declared parameters)"


def _schemas(service: str):
    for name, declared in rpc_contracts.declaration(service).items():
        for param, schema in (declared.get("params") or {}).items():
            yield f"{name}({param})", schema
        yield f"{name} -> result", declared.get("result", {})


@pytest.mark.parametrize("service", sorted(WORKERS))
def test_every_declared_schema_compiles_with_its_references_resolved(service):
    broken = {}
    for where, schema in _schemas(service):
        try:
            jsonschema_rs.validator_for(rpc_contracts.resolve(schema), validate_formats=True)
        except Exception as exc:  # noqa: BLE001 - report every broken declaration at once
            broken[where] = str(exc)
    assert broken == {}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


# Shapes whose loader is rating's usage parser, not marshmallow: the usage paths (stream, rate_usage, charging)
# share it and keep marshmallow off the hot path. tests/contract/test_usage_shapes.py proves that the parser
# applies each of these shapes (what the shape allows it takes, what it refuses the parser refuses, naming the
# member).
LOADED_BY_THE_USAGE_PARSER = {"usage.event.v1", "ReservationCreate", "ReservationCommit"}


@pytest.mark.parametrize("service", sorted(WORKERS))
def test_a_parameter_that_names_a_component_is_loaded_with_a_schema_generated_from_it(service):
    generated = set(LOADED_BY_THE_USAGE_PARSER) if service.startswith("rating") else set()
    for module_name in WORKERS[service][1]:
        for value in vars(importlib.import_module(module_name)).values():
            if inspect.isclass(value) and hasattr(value, "__shape__"):
                generated.add(value.__shape__.component)
    loose = {}
    for name, declared in rpc_contracts.declaration(service).items():
        for param, schema in (declared.get("params") or {}).items():
            for ref in _refs(schema):
                component = ref.rsplit("/", 1)[-1].removeprefix("rpc:").removeprefix("events:")
                if rpc_contracts.resolve({"$ref": ref}).get("type") not in ("object", None):
                    continue  # a scalar (an enum of statuses): checked in full by the adapter itself
                if component not in generated:
                    loose[f"{name}({param})"] = component
    assert loose == {}, "declared shapes no marshmallow schema of the service is generated from"


def _bare(schema: Any) -> bool:
    """Declared only as `object` / `array`, saying nothing of what is inside (a `$ref` names a shape)."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return False
    if "anyOf" in schema or "oneOf" in schema:
        return any(_bare(option) for option in schema.get("anyOf", schema.get("oneOf", [])))
    kind = schema.get("type")
    if kind == "object":
        return not any(key in schema for key in ("properties", "additionalProperties", "allOf"))
    if kind == "array":
        return "items" not in schema and "prefixItems" not in schema or _bare(schema.get("items"))
    return False


# Declarations that are free-form on purpose, each with the reason. Keep it short: a shape with known
# fields is declared, by reference or inline.
FREE_FORM: dict[str, str] = {
    "catalog.rate(fields)": "the usage event's rating fields: their names are the service type's fields, "
                            "defined in the catalog at run time (CatalogRateLookup.fields says the same)",
    "catalog.update_entry(patch)": "a JSON merge patch (RFC 7396) of the entry: the catalog merges it into the "
                                   "stored entry and loads the result with the kind's generated schema",
    "catalog.validate_custom_attributes(values)": "custom attribute values: their names are the attribute "
                                                  "definitions of the catalog, made at run time",
    "catalog.validate_custom_attributes -> result": "the same values, normalised by their definitions",
}

# Loose declarations not tightened yet (issue 8, item 5): debt, not design. This list only shrinks; the test
# below fails when an entry here has been tightened, so that it leaves the list too.
NOT_YET_TIGHTENED: set[str] = set()


def _loose() -> set[str]:
    return {f"{service}.{where}" for service in WORKERS for where, schema in _schemas(service) if _bare(schema)}


def test_no_result_or_parameter_is_declared_as_a_bare_object_or_array_unless_it_is_free_form_on_purpose():
    assert sorted(_loose() - set(FREE_FORM) - NOT_YET_TIGHTENED) == []


def test_the_allow_lists_name_only_declarations_that_are_still_loose():
    loose = _loose()
    assert sorted((set(FREE_FORM) | NOT_YET_TIGHTENED) - loose) == []
    assert all(reason.strip() for reason in FREE_FORM.values())


def test_an_rpc_payload_that_extends_a_gateway_component_is_checked_with_the_components_fields_and_its_own():
    check = jsonschema_rs.validator_for(rpc_contracts.resolve({"$ref": "rpc:hierarchy-join.v1"}), validate_formats=True)
    assert check.is_valid({"groupId": "g-1", "customerId": 7, "validFrom": "2026-01-01T00:00:00Z"})
    assert not check.is_valid({"customerId": 7})  # its own required field
    assert not check.is_valid({"groupId": "g-1"})  # the component's required field
    assert not check.is_valid({"groupId": "g-1", "customerId": 7, "colour": "red"})  # closed, as both are
