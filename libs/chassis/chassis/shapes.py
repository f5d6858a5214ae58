"""marshmallow schemas generated from the OpenAPI components: one source per shape.

A request or response shape is declared once, in an OpenAPI component of `contracts/http/` (which the
HTTP layer validates with). A service that loads or dumps the same shape over RPC builds its marshmallow
schema from that component instead of declaring it again::

    class DirectDebitSchema(Shape, component="DirectDebit", fields={"bic": bank_code(BIC), "iban": bank_code(IBAN)},
                            checks={"signedOn": not_in_future}):
        pass

(`Shape, rpc="<name>"` for an RPC schema of `contracts/rpc/schemas/`; the keywords are those of `shape()` /
`rpc_shape()`, and the class's base is the class they generate). A schema that adds nothing may also be
assigned: `PayInvoiceSchema = rpc_shape("invoice-payment.v1")`.
and keeps by hand only what a JSON Schema cannot say: a checksum (IBAN, card number), a code list
(ISO 3166 countries), a rule across fields (`@validates_schema` on the subclass).

What the component says becomes, per property (wire names stay camelCase; loaded keys are snake_case):

- `required` -> required; `readOnly` -> dump only; `writeOnly` -> load only; `nullable` -> None allowed;
- an optional property gets its `default`, else None when it is nullable (`defaults=False` for a patch,
  where an absent property means "unchanged"; `x-absent: unchanged` for one such property, e.g. a stored
  secret that null removes and absence keeps);
- `type: string` with `format` date-time / date / email / uuid -> an aware datetime, a date, an e-mail,
  a UUID; `format: uri` -> an http(s) URL (`x-schemes` to say others); `format: decimal` ->
  `chassis.fields.DecimalString` (a JSON float is refused), whose bounds are the property's `minimum` /
  `maximum` / `exclusiveMinimum` (JSON Schema ignores them on a string: the service enforces them, and the
  contract still tells them);
- `enum`, `pattern` (its `x-pattern-message` explains a failure), `minLength` / `maxLength`,
  `minimum` / `maximum`, `minItems` / `maxItems` -> validators;
- `integer` (strict: "12" is no integer), `number` (a float: never an amount), `boolean`, `array` of
  items, `object` with properties (a nested schema), `object` with `additionalProperties` (a dict), `$ref`,
  `allOf` (merged);
- an object refuses unknown properties (marshmallow's RAISE, which `additionalProperties: false` means).
"""
from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

from marshmallow import RAISE, Schema, fields, validate
from marshmallow.schema import SchemaMeta

from chassis.contracts import ContractError, contracts_dir, http_spec
from chassis.fields import DecimalString

Factory = Callable[..., fields.Field]
_REF = "#/components/schemas/"
_GATEWAY_REF = "http:gateway#/components/schemas/"  # an RPC schema naming the gateway component it extends


@functools.cache
def components(spec: str = "gateway") -> dict[str, Any]:
    """The `components.schemas` of `contracts/http/<spec>.yaml` (fragments merged), read once per process."""
    return http_spec(spec).get("components", {}).get("schemas", {})


def snake(name: str) -> str:
    """`billingAddressIsCustomerAddress` -> `billing_address_is_customer_address`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@functools.cache
def rpc_schema(name: str) -> dict[str, Any]:
    """The JSON Schema `contracts/rpc/schemas/<name>.json` of a payload that crosses services over RPC."""
    path = contracts_dir() / "rpc" / "schemas" / f"{name}.json"
    if not path.exists():
        raise ContractError(f"no RPC schema {name!r} (looked for {path})")
    return json.loads(path.read_text())


def rpc_documents(name: str) -> dict[str, Any]:
    """What the `$ref`s of RPC schema `name` may name, by name: its `$defs`, the gateway's components (which a
    payload extends), and the schema itself."""
    document = rpc_schema(name)
    return {**components("gateway"), **document.get("$defs", {}), name: document}


def rpc_shape(name: str, *, fields: Mapping[str, Factory] | None = None,
              checks: Mapping[str, Callable[[Any], Any]] | None = None, defaults: bool = True,
              absent_is_null: bool = False) -> type[Schema]:
    """A marshmallow Schema class declaring the JSON Schema `contracts/rpc/schemas/<name>.json` (draft 2020-12:
    `type: [x, "null"]` is a nullable x; its `$defs` are what its `$ref`s may name). A payload that extends
    a gateway component with what the gateway takes from the path says so with
    `allOf: [{$ref: "http:gateway#/components/schemas/X"}]` next to its own `properties`."""
    return build(rpc_documents(name), name, name=_class_name(name.split(".")[0].title()), fields=fields, checks=checks,
                 defaults=defaults, absent_is_null=absent_is_null, source=f"contracts/rpc/schemas/{name}.json")


def shape(component: str, *, spec: str = "gateway", fields: Mapping[str, Factory] | None = None,
          checks: Mapping[str, Callable[[Any], Any]] | None = None, defaults: bool = True,
          absent_is_null: bool = False, attributes: Mapping[str, str] | None = None,
          name: str | None = None) -> type[Schema]:
    """A marshmallow Schema class declaring the OpenAPI component `component` of `spec`.

    `fields` replaces the field of a property (by wire name) with `factory(**what_the_component_says)`:
    the factory receives `required`, `data_key`, `allow_none`, `load_default`, `validate`, ... so it adds
    the rule a schema cannot state and keeps the ones it can. `checks` adds a validator to a property.
    `absent_is_null`: every optional property without a default loads as None when absent (a create
    request whose use case reads each key). `attributes` names the document key a property dumps from
    when it is not the snake_case of its wire name (`{"validFrom": "cycle_start"}`).
    """
    schemas = components(spec)
    if component not in schemas:
        raise ContractError(f"no component {component!r} in contracts/http/{spec}.yaml")
    return build(schemas, component, name=name or f"{component}Shape", fields=fields, checks=checks,
                 defaults=defaults, absent_is_null=absent_is_null, attributes=attributes,
                 source=f"contracts/http/{spec}.yaml#{component}")


class _ShapeMeta(SchemaMeta):
    """`class X(Shape, component="C", **options)` builds `shape("C", **options)` (`rpc="N"`: `rpc_shape("N",
    **options)`) and puts it in place of `Shape` among X's bases: X is then what `class X(shape("C", **options))`
    made, written so that mypy (which takes no call as a base class) sees a Schema subclass."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any], *, component: str | None = None,
                rpc: str | None = None, **options: Any) -> _ShapeMeta:
        if "Shape" in globals() and Shape in bases:
            if (component is None) == (rpc is None):
                raise TypeError(f"{name}(Shape, ...) needs one of component= (an OpenAPI component) or rpc= "
                                "(an RPC schema)")
            generated = shape(component, **options) if component is not None else rpc_shape(str(rpc), **options)
            bases = tuple(generated if base is Shape else base for base in bases)
        elif component is not None or rpc is not None or options:
            raise TypeError(f"{name}: only a class naming Shape among its bases takes component=, rpc= or shape "
                            "options")
        return cast(_ShapeMeta, super().__new__(mcs, name, bases, attrs))

    def __init__(cls, name: str, bases: tuple[type, ...], attrs: dict[str, Any], **_: Any) -> None:
        super().__init__(name, bases, attrs)


class Shape(Schema, metaclass=_ShapeMeta):
    """The base to name in `class X(Shape, component=..., ...)` / `class X(Shape, rpc=..., ...)`: replaced by the
    generated class, so no class has Shape itself among its bases."""


def build(schemas: dict[str, Any], component: str, *, name: str | None = None,
          fields: Mapping[str, Factory] | None = None, checks: Mapping[str, Callable[[Any], Any]] | None = None,
          defaults: bool = True, absent_is_null: bool = False, attributes: Mapping[str, str] | None = None,
          source: str | None = None) -> type[Schema]:
    """The Schema class of `schemas[component]`, where `schemas` are the documents its `$ref`s may name.
    The class remembers where it came from (`__shape__`: the source, the overridden properties), so the
    contract tests can tell a generated shape from one declared again by hand."""
    missing = (set(fields or {}) | set(checks or {}) | set(attributes or {})) - set(
        properties_of(schemas, schemas[component])[0])
    if missing:  # an override of a property the contract no longer has would silently do nothing
        raise ContractError(f"{component} has no properties {sorted(missing)} to override")
    builder = _Builder(schemas, defaults, absent_is_null, dict(attributes or {}))
    built = builder.schema(schemas[component], name or f"{component}Shape", dict(fields or {}), dict(checks or {}),
                           builder.attributes)
    origin = Origin(source or component, component, frozenset(fields or {}), defaults, absent_is_null,
                    dict(attributes or {}))
    setattr(built, "__shape__", origin)  # noqa: B010 - read by the contract tests
    return built


@dataclass(frozen=True)
class Origin:
    """Where a generated Schema class came from."""

    source: str
    component: str
    overridden: frozenset[str]
    defaults: bool
    absent_is_null: bool = False
    attributes: dict[str, str] = field(default_factory=dict)


def nested(schema: type[Schema] | Callable[[], type[Schema]]) -> Factory:
    """An override: the property is `schema` (a generated class with its own overrides or cross-field rules)."""
    return lambda **kwargs: fields.Nested(schema, **kwargs)


def enum(kind: type[Enum]) -> Factory:
    """An override: the property loads as a member of `kind` (by value). The contract's `enum` still decides
    which values are accepted (it may allow fewer than `kind` has, e.g. the offline payment methods)."""
    def factory(**kwargs: Any) -> fields.Field:
        rules = []
        for rule in kwargs.pop("validate", []):
            if isinstance(rule, validate.OneOf):
                values = list(rule.choices)
                rule = validate.OneOf([kind(value) for value in values],
                                      error=f"must be one of: {', '.join(map(str, values))}")
            rules.append(rule)
        if kwargs.get("load_default") is not None:  # a default is not loaded: give the member itself
            kwargs["load_default"] = kind(kwargs["load_default"])
        return fields.Enum(kind, by_value=True, validate=rules or None, **kwargs)
    return factory


def _resolve(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if re.fullmatch(r"[A-Za-z0-9_.-]+\.json", ref):  # another RPC schema of contracts/rpc/schemas/
            node = rpc_schema(ref[:-len(".json")])
            continue
        prefix = next((p for p in (_REF, "#/$defs/", _GATEWAY_REF) if ref.startswith(p)), None)
        if prefix is None:
            raise ContractError(f"unsupported $ref {ref!r}")
        node = schemas[ref[len(prefix):]]
    return _openapi_view(node)


def _openapi_view(node: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (2020-12) property in OpenAPI 3.0 words: `type: [x, "null"]` -> `type: x, nullable`;
    a `null` among the `enum` values -> nullable; a type-less `enum` of strings -> a string;
    `exclusiveMinimum: n` -> `minimum: n, exclusiveMinimum: true`."""
    kind = node.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        if len(others) != 1:
            raise ContractError(f"a property of types {kind} has no marshmallow field")
        node = {**node, "type": others[0], "nullable": node.get("nullable", False) or "null" in kind}
    if "enum" in node:
        if None in node["enum"]:
            node = {**node, "nullable": True}
        if "type" not in node and all(isinstance(v, str) for v in node["enum"] if v is not None):
            node = {**node, "type": "string"}
    low = node.get("exclusiveMinimum")
    if low is not None and not isinstance(low, bool):
        node = {**node, "minimum": low, "exclusiveMinimum": True}
    return node


def properties_of(schemas: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """(properties, required) of an object, its `allOf` parts merged."""
    node = _resolve(schemas, node)
    properties, required = dict(node.get("properties", {})), set(node.get("required", []))
    for part in node.get("allOf", []):
        inner, inner_required = properties_of(schemas, part)
        properties.update(inner)
        required |= inner_required
    return properties, required


def _flatten(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A property schema with its `$ref` / single-part `allOf` resolved; the outer `nullable`, `default`,
    `readOnly`, ... kept (OpenAPI 3.0 writes a nullable reference as `allOf: [$ref] + nullable`)."""
    node = _openapi_view(node)
    outer = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
    if "$ref" in node:
        return {**_flatten(schemas, _resolve(schemas, node)), **outer}
    parts = node.get("allOf", [])
    if len(parts) == 1:
        return {**_flatten(schemas, parts[0]), **outer}
    if parts:  # several parts: one object with every part's properties
        properties, required = properties_of(schemas, node)
        return {**outer, "type": "object", "properties": {**properties, **outer.get("properties", {})},
                "required": sorted(required | set(outer.get("required", [])))}
    return node


class _Builder:
    def __init__(self, schemas: dict[str, Any], defaults: bool, absent_is_null: bool = False,
                 attributes: dict[str, str] | None = None):
        self.schemas = schemas
        self.defaults = defaults
        self.absent_is_null = absent_is_null
        self.attributes = attributes or {}

    def schema(self, node: dict[str, Any], name: str, overrides: dict[str, Factory],
               checks: dict[str, Callable[[Any], Any]], attributes: dict[str, str] | None = None) -> type[Schema]:
        properties, required = properties_of(self.schemas, node)
        declared: dict[str, Any] = {}
        for key, prop in properties.items():
            prop = _flatten(self.schemas, prop)
            attribute = (attributes or {}).get(key, snake(key))
            kwargs = self._kwargs(key, prop, key in required, attribute)
            if key in checks:
                kwargs["validate"] = [*kwargs.get("validate", []), checks[key]]
            factory = overrides.get(key)
            declared[attribute] = factory(**kwargs) if factory else self.field(prop, f"{name}.{key}", **kwargs)
        declared["Meta"] = type("Meta", (), {"unknown": RAISE})
        return type(name, (Schema,), declared)

    def _kwargs(self, key: str, prop: dict[str, Any], required: bool, attribute: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if (attribute or snake(key)) != key:
            kwargs["data_key"] = key
        if prop.get("nullable"):
            kwargs["allow_none"] = True
        if prop.get("readOnly"):
            kwargs["dump_only"] = True
        elif prop.get("writeOnly"):
            kwargs["load_only"] = True
        if required and not prop.get("readOnly"):
            kwargs["required"] = True
        elif self.defaults and not prop.get("readOnly"):
            if "default" in prop:
                kwargs["load_default"] = _default(prop)
            elif (prop.get("nullable") or self.absent_is_null) and prop.get("x-absent") != "unchanged":
                kwargs["load_default"] = None
        rules = _validators(prop)
        if rules:
            kwargs["validate"] = rules
        return kwargs

    def field(self, prop: dict[str, Any], path: str, **kwargs: Any) -> fields.Field:
        kind, fmt = prop.get("type"), prop.get("format")
        if kind == "string":
            if fmt == "decimal":
                return DecimalString(minimum=prop.get("minimum"), maximum=prop.get("maximum"),
                                     exclusive_minimum=bool(prop.get("exclusiveMinimum")), **kwargs)
            if fmt == "uri":
                return fields.Url(schemes=set(prop.get("x-schemes", ("http", "https"))), require_tld=False, **kwargs)
            by_format: dict[Any, type[fields.Field]] = {"date-time": fields.AwareDateTime, "date": fields.Date,
                                                         "email": fields.Email, "uuid": fields.UUID}
            return by_format.get(fmt, fields.String)(**kwargs)
        if kind == "integer":
            return fields.Integer(strict=True, **kwargs)
        if kind == "number":  # never an amount (those are decimal strings): a duration, a ratio
            return fields.Float(**kwargs)
        if kind == "boolean":
            return fields.Boolean(**kwargs)
        if kind == "array":
            items = _flatten(self.schemas, prop.get("items", {}))
            inner = self._kwargs("items", items, False)
            inner = {k: v for k, v in inner.items() if k in ("allow_none", "validate")}
            return fields.List(self.field(items, f"{path}[]", **inner), **kwargs)
        if kind == "object" or "properties" in prop:
            if prop.get("properties") or prop.get("allOf"):
                nested = self.schema(prop, _class_name(path), {}, {})
                return fields.Nested(nested, **kwargs)
            values = prop.get("additionalProperties")
            if isinstance(values, dict) and values:
                value_prop = _flatten(self.schemas, values)
                inner = {k: v for k, v in self._kwargs("v", value_prop, False).items()
                         if k in ("allow_none", "validate")}
                return fields.Dict(keys=fields.String(), values=self.field(value_prop, f"{path}{{}}", **inner),
                                   **kwargs)
            return fields.Dict(keys=fields.String(), **kwargs)
        if kind is None and not prop:
            return fields.Raw(**kwargs)
        raise ContractError(f"{path}: no marshmallow field for type {kind!r}")


def _class_name(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", path)


def _default(prop: dict[str, Any]) -> Any:
    value = prop["default"]
    if prop.get("format") == "decimal" and value is not None:
        from chassis.money import to_decimal
        value = to_decimal(value)
    if isinstance(value, (list, dict)):
        # A fresh copy for every load: a shared mutable default would leak one request's data into the next.
        return functools.partial(copy.deepcopy, value)
    return value


def _validators(prop: dict[str, Any]) -> list[Any]:
    rules: list[Any] = []
    if "enum" in prop:
        rules.append(validate.OneOf([v for v in prop["enum"] if v is not None]))
    if prop.get("format") == "decimal":  # parsed by DecimalString, whose bounds are the minimum and maximum
        return rules
    if "pattern" in prop:
        # marshmallow formats the message: `{regex}` is the pattern, `{input}` the value.
        rules.append(validate.Regexp(prop["pattern"], error=prop.get("x-pattern-message", "does not match {regex}")))
    if prop.get("type") == "array":
        low, high = prop.get("minItems"), prop.get("maxItems")
    else:
        low, high = prop.get("minLength"), prop.get("maxLength")
    if low is not None or high is not None:
        rules.append(validate.Length(min=low, max=high))
    if prop.get("type") in ("integer", "number") and ("minimum" in prop or "maximum" in prop):
        rules.append(validate.Range(min=prop.get("minimum"), max=prop.get("maximum"),
                                    min_inclusive=not prop.get("exclusiveMinimum", False),
                                    max_inclusive=not prop.get("exclusiveMaximum", False)))
    return rules
