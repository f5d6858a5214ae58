"""The OpenAPI documents the HTTP processes load are valid and every operation has its handler."""
import importlib

import pytest
from openapi_spec_validator import validate

from chassis.contracts import contracts_dir, http_spec

SPECS = sorted(p.stem for p in (contracts_dir() / "http").glob("*.yaml"))
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_there_is_an_api_for_the_operators_and_one_for_the_customers():
    assert {"gateway", "selfcare"} <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_each_merged_document_is_valid_openapi(name):
    validate(http_spec(name))


@pytest.mark.parametrize("name", SPECS)
def test_every_operation_names_an_importable_handler(name):
    for path, method, operation in operations(http_spec(name)):
        module, _, function = operation["operationId"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), function, None)), f"{method} {path}"


@pytest.mark.parametrize("name", SPECS)
def test_every_process_exposes_probes_and_metrics(name):
    paths = http_spec(name)["paths"]
    assert {"/health/live", "/health/ready", "/metrics"} <= set(paths)


@pytest.mark.parametrize("name", SPECS)
def test_error_responses_are_problem_documents(name):
    for path, method, operation in operations(http_spec(name)):
        for status, response in operation.get("responses", {}).items():
            if path.startswith("/health/"):
                continue  # probes answer with a health document, by design
            if status.startswith(("4", "5")) and "$ref" not in response and "content" in response:
                assert "application/problem+json" in response["content"], f"{method} {path} {status}"
