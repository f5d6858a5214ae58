"""chassis.shapes: a marshmallow schema generated from an OpenAPI component loads and dumps what the
component says, and nothing else."""
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import pytest
from marshmallow import ValidationError, fields, validates_schema

from chassis.contracts import ContractError
from chassis.shapes import Shape, build, enum, nested, rpc_shape, shape, snake

DECIMAL = {"type": "string", "format": "decimal", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
COMPONENTS = {
    "Address": {"type": "object", "additionalProperties": False, "required": ["city"], "properties": {
        "city": {"type": "string", "minLength": 1, "maxLength": 5},
        "zip": {"type": "string", "nullable": True, "maxLength": 3}}},
    "Order": {"type": "object", "additionalProperties": False, "required": ["code", "amount", "placedAt"],
              "properties": {
                  "code": {"type": "string", "pattern": "^[A-Z]{2}$", "x-pattern-message": "two capitals"},
                  "amount": {**DECIMAL, "minimum": 0, "exclusiveMinimum": True},
                  "discount": {**DECIMAL, "nullable": True, "maximum": 100},
                  "quantity": {**DECIMAL, "default": "1"},
                  "placedAt": {"type": "string", "format": "date-time"},
                  "deliverOn": {"type": "string", "format": "date", "nullable": True},
                  "email": {"type": "string", "format": "email"},
                  "requestId": {"type": "string", "format": "uuid"},
                  "kind": {"type": "string", "enum": ["retail", "wholesale"], "default": "retail"},
                  "count": {"type": "integer", "minimum": 1, "maximum": 10},
                  "gift": {"type": "boolean", "default": False},
                  "tags": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["a", "b"]}},
                  "notes": {"type": "array", "items": {"type": "string"}, "default": []},
                  "shipTo": {"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": True},
                  "billTo": {"$ref": "#/components/schemas/Address"},
                  "lines": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                       "required": ["sku"], "properties": {
                                                           "sku": {"type": "string"}, "qty": DECIMAL}}},
                  "attributes": {"type": "object", "additionalProperties": True},
                  "prices": {"type": "object", "additionalProperties": DECIMAL},
                  "id": {"type": "integer", "readOnly": True},
                  "createdAt": {"type": "string", "format": "date-time", "readOnly": True}}},
    "Patch": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
        "name": {"type": "string", "minLength": 1}, "note": {"type": "string", "nullable": True}}},
    "Both": {"allOf": [{"$ref": "#/components/schemas/Address"},
                       {"type": "object", "required": ["street"], "properties": {"street": {"type": "string"}}}]},
}
ORDER = {"code": "AB", "amount": "12.50", "placedAt": "2026-01-02T03:04:05Z"}


def order(**overrides):
    return build(COMPONENTS, "Order", **overrides)()


def messages(schema, payload):
    with pytest.raises(ValidationError) as refused:
        schema.load(payload)
    return refused.value.messages


def test_camel_case_wire_names_load_into_snake_case_keys():
    assert snake("billingAddressIsCustomerAddress") == "billing_address_is_customer_address"
    assert snake("zip") == "zip" and snake("glCode") == "gl_code"
    data = order().load({**ORDER, "deliverOn": "2026-02-01", "requestId": str(uuid.UUID(int=1))})
    assert data["placed_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert data["deliver_on"] == date(2026, 2, 1)
    assert data["request_id"] == uuid.UUID(int=1)


def test_an_optional_property_gets_its_default_or_null_when_it_is_nullable():
    data = order().load(ORDER)
    assert data["quantity"] == Decimal(1) and data["kind"] == "retail" and data["gift"] is False
    assert data["discount"] is None and data["ship_to"] is None and data["deliver_on"] is None
    assert "count" not in data and "email" not in data


def test_a_list_default_is_a_fresh_copy_for_every_load():
    first = order().load(ORDER)
    first["notes"].append("leaked")
    assert order().load(ORDER)["notes"] == []


def test_a_patch_shape_leaves_absent_properties_absent():
    patch = build(COMPONENTS, "Patch", defaults=False)()
    assert patch.load({"name": "x"}) == {"name": "x"}
    assert patch.load({"note": None}) == {"note": None}


def test_decimal_strings_load_as_decimals_with_the_components_bounds_and_floats_are_refused():
    assert order().load(ORDER)["amount"] == Decimal("12.50")
    assert set(messages(order(), {**ORDER, "amount": "0"})) == {"amount"}
    assert set(messages(order(), {**ORDER, "amount": 1.5})) == {"amount"}
    assert set(messages(order(), {**ORDER, "discount": "100.01"})) == {"discount"}
    assert order().dump({"amount": Decimal("1.10")})["amount"] == "1.10"


@pytest.mark.parametrize(("field", "value"), [
    ("code", "abc"), ("kind", "other"), ("count", 0), ("count", 11), ("count", "5"), ("email", "nope"),
    ("tags", []), ("tags", ["c"]), ("placedAt", "2026-01-02T03:04:05"), ("deliverOn", "02/01/2026"),
    ("billTo", {"city": ""}), ("billTo", {"city": "Paris", "street": "x"}), ("lines", [{"qty": "1"}]),
    ("prices", {"a": 1.5}), ("gift", "perhaps"), ("requestId", "not-a-uuid")])
def test_each_rule_of_the_component_refuses_a_bad_value_naming_the_property(field, value):
    assert field in messages(order(), {**ORDER, field: value})


def test_a_pattern_failure_says_what_the_component_explains():
    assert messages(order(), {**ORDER, "code": "x"})["code"] == ["two capitals"]


def test_unknown_and_read_only_properties_are_refused_on_load_and_read_only_ones_dumped():
    assert set(messages(order(), {**ORDER, "colour": "red", "id": 3})) == {"colour", "id"}
    assert order().dump({"id": 3, "created_at": datetime(2026, 1, 1, tzinfo=UTC)}) == {
        "id": 3, "createdAt": "2026-01-01T00:00:00+00:00"}


def test_required_properties_are_named_when_missing():
    assert set(messages(order(), {})) == {"code", "amount", "placedAt"}


def test_all_of_parts_merge_into_one_object():
    both = build(COMPONENTS, "Both")()
    assert both.load({"city": "Rome", "street": "Via"}) == {"city": "Rome", "street": "Via", "zip": None}
    assert set(messages(both, {"city": "Rome"})) == {"street"}


class Colour(Enum):
    RED = "red"


def test_an_override_keeps_what_the_component_says_and_adds_a_rule_a_schema_cannot_state():
    def upper(**kwargs):
        class Upper(fields.String):
            def _deserialize(self, value, attr, data, **kw):
                return super()._deserialize(value, attr, data, **kw).upper()
        return Upper(**kwargs)

    def not_pq(code):
        if code == "PQ":
            raise ValidationError("PQ is reserved")

    schema = order(fields={"code": upper}, checks={"code": not_pq})
    assert schema.load({**ORDER, "code": "AB"})["code"] == "AB"
    assert "code" in messages(schema, {key: value for key, value in ORDER.items() if key != "code"})
    assert messages(schema, {**ORDER, "code": "PQ"})["code"] == ["PQ is reserved"]


def test_enum_and_nested_overrides():
    components = {"Paint": {"type": "object", "properties": {
        "colour": {"type": "string", "enum": ["red"]}, "box": {"$ref": "#/components/schemas/Box"}}},
        "Box": {"type": "object", "required": ["size"], "properties": {"size": {"type": "integer"}}}}

    class Box(build(components, "Box")):
        @validates_schema
        def _even(self, data, **kwargs):
            if data["size"] % 2:
                raise ValidationError("even sizes only", "size")

    paint = build(components, "Paint", fields={"colour": enum(Colour), "box": nested(Box)})()
    assert paint.load({"colour": "red"}) == {"colour": Colour.RED}
    assert "colour" in messages(paint, {"colour": "blue"})
    assert messages(paint, {"box": {"size": 3}}) == {"box": {"size": ["even sizes only"]}}


def test_an_override_of_a_property_the_component_lacks_is_an_error():
    with pytest.raises(ContractError, match="colour"):
        order(fields={"colour": fields.String})


def test_a_generated_class_remembers_its_component():
    schema = build(COMPONENTS, "Order", fields={"code": fields.String})
    assert schema.__shape__.component == "Order" and schema.__shape__.overridden == {"code"}


def test_the_repositorys_components_and_rpc_schemas_build():
    assert "firstName" in shape("CustomerCreate")().fields["first_name"].data_key
    snapshot = rpc_shape("subscription-product.v1")()
    assert snapshot.load({"code": "P", "version": 1, "name": "P", "type": "service", "quantity": "1",
                          "purchased": True, "proration": None})["quantity"] == Decimal(1)
    assert "quantity" in messages(snapshot, {"code": "P", "version": 1, "name": "P", "type": "service",
                                             "quantity": "0", "purchased": True})
    with pytest.raises(ContractError):
        shape("NoSuchComponent")


def test_a_shape_named_by_class_keywords_is_the_class_the_call_generates():
    class Created(Shape, component="CustomerCreate", defaults=False):
        @validates_schema
        def _rule(self, data, **kwargs):
            pass

    class Snapshot(Shape, rpc="subscription-product.v1"):
        pass

    class Called(shape("CustomerCreate", defaults=False)):
        pass

    [base] = Created.__bases__
    assert Shape not in Created.__mro__ and base.__shape__ == Called.__shape__ == Created.__shape__
    assert {key: type(f) for key, f in Created().fields.items()} == {key: type(f) for key, f in Called().fields.items()}
    assert Snapshot.__shape__.source == "contracts/rpc/schemas/subscription-product.v1.json"
    assert Created._hooks and issubclass(type(Created), type(Called))


def test_shape_keywords_need_one_source_and_only_on_a_class_naming_shape():
    with pytest.raises(TypeError, match="component= .* or rpc="):
        class Neither(Shape):
            pass

    class Snapshot(Shape, rpc="subscription-product.v1"):
        pass

    with pytest.raises(TypeError, match="only a class naming Shape"):
        class Later(Snapshot, component="CustomerCreate"):
            pass

    class Subclass(Snapshot):  # a subclass of a generated one: plain inheritance
        pass

    assert Subclass.__shape__ == Snapshot.__shape__
