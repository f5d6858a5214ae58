"""Rules the shared HTTP layer applies to every contract: 64-bit integers, documented problems,
`OPTIONS` answers, wide integers found anywhere in a body."""
from chassis.contracts import INT64_MAX, INT64_MIN, _bound_integers, _document_problems, http_spec
from chassis.http import _wide_integers, allowed_methods

PROBLEM = {"$ref": "#/components/responses/Problem"}


def _spec(paths, security=None):
    spec = {"paths": paths, "components": {"responses": {"Problem": {"description": "x"}}}}
    if security is not None:
        spec["security"] = security
    return spec


def test_every_integer_is_bounded_to_64_bits_unless_it_says_int32():
    schema = {"properties": {"a": {"type": "integer", "minimum": 1}, "b": {"type": "integer", "format": "int32"},
                             "c": {"type": "integer", "maximum": 10}}}
    _bound_integers(schema)
    a, b, c = (schema["properties"][k] for k in "abc")
    assert (a["minimum"], a["maximum"], a["format"]) == (1, INT64_MAX, "int64")
    assert (b["minimum"], b["maximum"]) == (-(2**31), 2**31 - 1)
    assert (c["minimum"], c["maximum"]) == (INT64_MIN, 10)


def test_a_secured_change_with_an_id_documents_400_401_403_404_409_and_503():
    spec = _spec({"/things/{id}": {"patch": {"requestBody": {}, "responses": {"200": {}}}}}, [{"bearer": []}])
    _document_problems(spec)
    assert set(spec["paths"]["/things/{id}"]["patch"]["responses"]) == {
        "200", "400", "401", "403", "404", "409", "503"}


def test_a_public_read_without_input_documents_no_problem_and_what_a_fragment_says_is_kept():
    spec = _spec({"/health": {"get": {"security": [], "responses": {"200": {}}}},
                  "/things": {"get": {"parameters": [{}], "responses": {"400": {"description": "own"}}}}},
                 [{"bearer": []}])
    _document_problems(spec)
    assert set(spec["paths"]["/health"]["get"]["responses"]) == {"200"}
    assert spec["paths"]["/things"]["get"]["responses"]["400"] == {"description": "own"}
    assert spec["paths"]["/things"]["get"]["responses"]["401"] == PROBLEM


def test_every_secured_operation_of_the_gateway_documents_401_and_every_one_with_input_400():
    spec = http_spec("gateway")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if operation.get("security", spec.get("security")):
                assert "401" in operation["responses"], f"{method} {path}"
            if operation.get("parameters") or operation.get("requestBody") or "{" in path:
                assert "400" in operation["responses"], f"{method} {path}"


def test_options_lists_every_method_of_a_path_template():
    routes = allowed_methods({"paths": {"/api/v1/customers/{customerId}": {"get": {}, "patch": {}},
                                        "/api/v1/customers": {"post": {}}}})
    matched = [allow for pattern, allow in routes if pattern.fullmatch("/api/v1/customers/42")]
    assert matched == ["GET, HEAD, OPTIONS, PATCH"]
    assert not any(pattern.fullmatch("/api/v1/customers/42/contacts") for pattern, _ in routes)


def test_wide_integers_are_found_inside_untyped_objects_and_lists():
    body = {"a": 1, "sharing": {"group": 2**64}, "items": [0, -(2**63) - 1], "flag": True}
    assert list(_wide_integers(body, "")) == ["sharing.group", "items.1"]
