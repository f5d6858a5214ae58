"""The RPC contract of each service: `contracts/rpc/<service>.yaml` declares every `@rpc` method's parameters
(one JSON Schema each, in order) and its result.

    get_customer:
      params:
        customerId: {type: integer, minimum: 1}       # the Python parameter is customer_id
      result: {$ref: 'http:gateway#/components/schemas/Customer'}

A schema may name a shape declared elsewhere instead of copying it:
`http:<spec>#/components/schemas/<Name>` (an OpenAPI component of `contracts/http/<spec>.yaml`),
`rpc:<file>` (a JSON Schema of `contracts/rpc/schemas/<file>.json`) or `events:<file>` (a message schema of
`contracts/events/<file>.json`: rating.rate_usage takes the usage events the stream carries).

The chassis' nameko adapter checks every incoming call against its declaration (`check_arguments`): a wrong
type, a missing or unknown argument is refused as `ValidationFailed` naming the parameter, before the method
runs. Arguments are checked to the depth of the declaration itself: a parameter that names a shape is
checked to be an object (or an array of them, ...) here and loaded field by field by the service's marshmallow
schema, which chassis.shapes generates from that same shape (so its errors keep naming the fields); rating's
usage shapes are loaded by its usage parser, proven against them by tests/contract/test_usage_shapes.py. Results are
checked in full, `$ref`s resolved, when RPC_CHECK_RESULTS=1 (the test platform sets it): a result that
breaks its declaration is a bug of the service, not of the caller.
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chassis.contracts import ContractError, contracts_dir, http_spec, load_yaml
from chassis.errors import ValidationFailed

CHECK_RESULTS_ENV = "RPC_CHECK_RESULTS"
_HTTP_REF = re.compile(r"^http:(?P<spec>[a-z-]+)#/components/schemas/(?P<name>[A-Za-z0-9_]+)$")
_RPC_REF = re.compile(r"^rpc:(?P<name>[A-Za-z0-9_.-]+)$")
_EVENTS_REF = re.compile(r"^events:(?P<name>[A-Za-z0-9_.-]+)$")


def camel(name: str) -> str:
    """`customer_id` -> `customerId`: parameters are named in the contract as on the wire."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


WORKER_BASE = "worker-base"  # contracts/rpc/worker-base.yaml: the methods every WorkerBase offers (jobs)


@functools.cache
def declaration(service: str, path: Path | None = None) -> dict[str, Any]:
    """`contracts/rpc/<service>.yaml` (or `path`: a worker outside the platform, e.g. a test's sample,
    names its own), read once per process, with the methods of the declarations it names in `x-inherits`
    (a nameko worker's file names `worker-base`: the jobs methods every WorkerBase offers)."""
    path = path or contracts_dir() / "rpc" / f"{service}.yaml"
    if not path.exists():
        raise ContractError(f"no RPC contract for {service!r} (looked for {path})")
    own = dict(load_yaml(path.read_text()) or {})
    inherited: dict[str, Any] = {}
    for parent in own.pop("x-inherits", []):  # e.g. [worker-base]: what every nameko worker offers
        inherited.update(declaration(parent))
    return {**inherited, **own}


def resolve(node: Any) -> Any:
    """`node` with every `$ref` replaced by the shape it names (OpenAPI `nullable` made JSON Schema)."""
    if isinstance(node, list):
        return [resolve(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _target(node["$ref"])
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return resolve({**target, **rest}) if rest else resolve(target)
    if "allOf" in node and "properties" in node:
        node = _extended(node)
    resolved = {key: resolve(value) for key, value in node.items() if key not in ("nullable", "readOnly",
                                                                                  "writeOnly", "example")
                and not key.startswith("x-")}
    if resolved.get("exclusiveMinimum") is True:  # OpenAPI 3.0's boolean form, in JSON Schema words
        resolved["exclusiveMinimum"] = resolved.pop("minimum", 0)
    elif resolved.get("exclusiveMinimum") is False:
        del resolved["exclusiveMinimum"]
    if node.get("nullable"):
        resolved = {"anyOf": [resolved, {"type": "null"}]}
    return resolved


def _extended(node: dict[str, Any]) -> dict[str, Any]:
    """An object that extends other shapes (`allOf` next to its own `properties`: an RPC payload that is a
    gateway component plus what the gateway takes from the path) as one object with all their properties.
    JSON Schema's own `allOf` would apply each part's `additionalProperties: false` to the others' fields;
    chassis.shapes reads the same declaration this way."""
    properties: dict[str, Any] = {}
    required: set[str] = set()
    closed = node.get("additionalProperties") is False
    for part in node["allOf"]:
        part = _target(part["$ref"]) if "$ref" in part else part
        if "allOf" in part and "properties" in part:
            part = _extended(part)
        properties.update(part.get("properties", {}))
        required |= set(part.get("required", []))
        closed = closed or part.get("additionalProperties") is False
    properties.update(node["properties"])
    required |= set(node.get("required", []))
    merged = {key: value for key, value in node.items() if key not in ("allOf", "properties", "required")}
    merged.update(type="object", properties=properties, required=sorted(required))
    if closed:
        merged["additionalProperties"] = False
    return merged


@functools.cache
def event_schema(name: str) -> dict[str, Any]:
    """The JSON Schema `contracts/events/<name>.json` (a message on a stream or exchange)."""
    path = contracts_dir() / "events" / f"{name}.json"
    if not path.exists():
        raise ContractError(f"no event schema {name!r} (looked for {path})")
    return json.loads(path.read_text())


@functools.cache
def _http_components(spec: str) -> dict[str, Any]:
    return http_spec(spec).get("components", {}).get("schemas", {})


def _target(ref: str) -> dict[str, Any]:
    if match := _HTTP_REF.match(ref):
        schemas = _http_components(match["spec"])
        if match["name"] not in schemas:
            raise ContractError(f"{ref}: no such component")
        return _local_refs(schemas[match["name"]], f"http:{match['spec']}#/components/schemas/")
    if (match := _RPC_REF.match(ref)) or (match := _EVENTS_REF.match(ref)):
        from chassis.shapes import rpc_schema

        load = rpc_schema if ref.startswith("rpc:") else event_schema
        return {key: value for key, value in load(match["name"]).items() if key not in ("$schema", "$id")}
    if re.fullmatch(r"[A-Za-z0-9_.-]+\.json", ref):  # one RPC schema naming another
        return _target(f"rpc:{ref[:-len('.json')]}")
    if ref.startswith("#/components/schemas/"):
        raise ContractError(f"{ref}: say which document (http:<spec>{ref})")
    raise ContractError(f"unsupported $ref {ref!r}")


def _local_refs(node: Any, prefix: str) -> Any:
    """A component's own `#/components/schemas/X` refs, made to name their document."""
    if isinstance(node, list):
        return [_local_refs(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: (prefix + value[len("#/components/schemas/"):] if key == "$ref" and isinstance(value, str)
                  and value.startswith("#/components/schemas/") else _local_refs(value, prefix))
            for key, value in node.items()}


def _shallow(node: dict[str, Any]) -> dict[str, Any]:
    """What the adapter checks of a parameter: a named shape (or one of several, or an array of one) only by
    its JSON type (the service's loader checks its fields and names them); an inline schema as declared."""
    if "$ref" in node:
        target = _target(node["$ref"])
        kind = target.get("type") or ("object" if "properties" in target or "allOf" in target else None)
        shallow: dict[str, Any] = {"type": kind} if kind else {}
        if node.get("nullable") or target.get("nullable"):
            shallow = {"anyOf": [shallow, {"type": "null"}]} if shallow else {}
        return shallow
    if node.get("type") == "array" and "$ref" in node.get("items", {}):
        # Items of a named shape: the loader checks each one, so that its errors name `<param>.<index>.<field>`
        # (and a batch can refuse or keep each item on its own).
        return {key: value for key, value in node.items() if key in ("type", "minItems", "maxItems")}
    options = node.get("anyOf") or node.get("oneOf")
    if options and all("$ref" in option for option in options):  # one of several shapes (by the kind argument)
        shallow = {"anyOf": [_shallow(option) for option in options]}
        return {"anyOf": [shallow, {"type": "null"}]} if node.get("nullable") else shallow
    return resolve(node)


@dataclass(frozen=True)
class Method:
    service: str
    name: str
    params: dict[str, dict[str, Any]]
    result: dict[str, Any]

    @functools.cached_property
    def _argument_checks(self) -> list[tuple[str, Any]]:
        import jsonschema_rs

        return [(param, jsonschema_rs.validator_for(_shallow(schema) or {}, validate_formats=True))
                for param, schema in self.params.items()]

    @functools.cached_property
    def _result_check(self) -> Any:
        import jsonschema_rs

        return jsonschema_rs.validator_for(resolve(self.result), validate_formats=True)

    def check_arguments(self, fn: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        """Refuse a call whose arguments break the declaration, naming each bad parameter."""
        receiver = (None,) if _is_method(fn) else ()
        try:
            bound = _signature(fn).bind(*receiver, *args, **kwargs)
        except TypeError as exc:
            raise ValidationFailed(f"{self.service}.{self.name}: {exc}", {"_arguments": str(exc)}) from None
        values = dict(list(bound.arguments.items())[len(receiver):])
        problems: dict[str, str] = {}
        for param, check in self._argument_checks:
            python_name = _python_names(fn)[param]
            if python_name not in values:
                continue  # its default applies
            try:
                errors = [error.message for error in check.iter_errors(values[python_name])]
            except (TypeError, ValueError) as exc:  # not JSON at all
                errors = [str(exc)]
            if errors:
                problems[param] = "; ".join(errors)
        if problems:
            raise ValidationFailed(f"Invalid argument for: {', '.join(sorted(problems))}", problems)

    def check_result(self, result: Any) -> None:
        errors = [f"{'/'.join(map(str, error.instance_path)) or '(result)'}: {error.message}"
                  for error in self._result_check.iter_errors(result)]
        if errors:
            raise ContractError(f"{self.service}.{self.name} returned a result that breaks its contract: "
                                + "; ".join(errors[:5]))


@functools.cache
def _signature(fn: Any) -> inspect.Signature:
    return inspect.signature(fn)


def _is_method(fn: Any) -> bool:
    """A worker's method (its first parameter the worker) or a plain function (rating's charging process)."""
    return next(iter(_signature(fn).parameters), None) == "self"


@functools.cache
def python_parameters(fn: Any) -> list[str]:
    """The parameters a caller passes, as Python names (a method's `self` left out)."""
    return list(_signature(fn).parameters)[1 if _is_method(fn) else 0:]


@functools.cache
def _python_names(fn: Any) -> dict[str, str]:
    return {camel(name): name for name in python_parameters(fn)}


@functools.cache
def method(service: str, name: str, path: Path | None = None) -> Method:
    declared = declaration(service, path).get(name)
    if declared is None:
        raise ContractError(f"{service}.{name} is not declared in contracts/rpc/{service}.yaml")
    return Method(service, name, dict(declared.get("params") or {}), declared.get("result", {}))


def check_results() -> bool:
    return os.environ.get(CHECK_RESULTS_ENV, "") == "1"
