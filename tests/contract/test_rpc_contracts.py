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


@pytest.mark.parametrize("service", sorted(WORKERS))
def test_a_parameter_that_names_a_component_is_loaded_with_a_schema_generated_from_it(service):
    generated = set()
    for module_name in WORKERS[service][1]:
        for value in vars(importlib.import_module(module_name)).values():
            if inspect.isclass(value) and hasattr(value, "__shape__"):
                generated.add(value.__shape__.component)
    loose = {}
    for name, declared in rpc_contracts.declaration(service).items():
        for param, schema in (declared.get("params") or {}).items():
            for ref in _refs(schema):
                component = ref.rsplit("/", 1)[-1].removeprefix("rpc:")
                if rpc_contracts.resolve({"$ref": ref}).get("type") not in ("object", None):
                    continue  # a scalar (an enum of statuses): checked in full by the adapter itself
                if component not in generated:
                    loose[f"{name}({param})"] = component
    assert loose == {}, "declared shapes no marshmallow schema of the service is generated from"
