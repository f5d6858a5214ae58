"""Fuzz tier: schemathesis drives the running gateway and the self-care portal's API from their own
contracts with a fixed seed (`derandomize`: the same examples every run) and a bounded number of
examples per operation, and fails on any finding: a server error, a status code, content type, header
or body the contract does not declare, or invalid data accepted."""
import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chassis import manifest
from chassis.contracts import http_spec
from chassis.testing import operator_client
from selfcare.testing import PASSWORD, new_identifier, onboard_with_portal_user, portal_client

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# Two per operation of the gateway keeps the tier within its 3 minutes in `make test`; `FUZZ_EXAMPLES=8 make
# test-fuzz` digs deeper. The portal's API has few operations: fifteen each.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
PORTAL_EXAMPLES = int(os.environ.get("FUZZ_PORTAL_EXAMPLES", "15"))
# Under pytest-xdist these tests would not run (see pyproject.toml): `make test` runs them without workers.
pytestmark = pytest.mark.fuzz
# The fuzzer logs in as this admin; operations on it would change its own password or role, disable
# or delete it, and end the fuzzer's session (their rules have tests of their own).
FUZZER = "admin"


@pytest.fixture(scope="module")
def platform(start_services):
    # every process the manifest deploys, so operations are fuzzed through to whatever answers them (a list kept
    # by hand here missed rating's charging process when it was added)
    platform = start_services(*(p.service if p.kind == "worker" else f"{p.service}:{p.kind}"
                                for p in manifest.load().processes(stand_ins=False)))
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def bearer(platform):
    with operator_client(platform) as client:
        return client.headers["Authorization"]


@pytest.fixture(scope="module")
def portal_session(platform):
    """A logged-in portal customer: its session cookie and CSRF token."""
    address = f"fuzz-{uuid.uuid4().hex[:10]}@example.com"
    with operator_client(platform) as operator:
        customer_id = onboard_with_portal_user(operator, address, new_identifier())
    # Following the emailed link has tests of its own; here the portal's own database says verified.
    platform.database("selfcare").portal_users.update_one({"_id": customer_id}, {"$set": {"verified": True}})
    portal = portal_client(platform["selfcare:api"].url)
    logged = portal.post("/api/v1/session", json={"email": address, "password": PASSWORD})
    assert logged.status_code == 200, logged.text
    cookie = "; ".join(f"{name}={value}" for name, value in portal.portal_cookies.values.items())
    return {"Cookie": cookie, "X-CSRF-Token": logged.json()["csrfToken"]}


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])

# The documents the gateway and the portal serve at /openapi.json, built by the same loader. (Loaded at
# import: schemathesis' lazy fixture loader does not work with pytest 9.)
schema = schemathesis.openapi.from_dict(http_spec("gateway"))
# Logging out and changing the password would end the fuzzer's own session (both have tests of their own).
portal_schema = schemathesis.openapi.from_dict(http_spec("selfcare")).exclude(
    operation_id=["selfcare.entrypoints.portal_api.log_out", "selfcare.entrypoints.portal_api.change_password"])


@schema.parametrize()
@fuzz_settings(EXAMPLES)
def test_the_gateway_answers_every_generated_request_as_its_contract_says(case, platform, bearer):
    # derandomize: the same examples on every run (a fixed seed derived from the test)
    if case.path_parameters and case.path_parameters.get("username") == FUZZER:
        case.path_parameters["username"] = f"{FUZZER}-not-me"
    case.call_and_validate(base_url=platform["gateway:api"].url, headers={"Authorization": bearer},
                           checks=CHECKS, timeout=30)


@portal_schema.parametrize()
@fuzz_settings(PORTAL_EXAMPLES)
def test_the_portal_api_answers_every_generated_request_as_its_contract_says(case, platform, portal_session):
    # A case about a missing or wrong session cookie or CSRF token is sent as generated.
    headers = {name: value for name, value in portal_session.items()
               if not _mutates(case, {"Cookie": "selfcare_session"}.get(name, name))}
    case.call_and_validate(base_url=platform["selfcare:api"].url, headers=headers, checks=CHECKS, timeout=30)


def _mutates(case, parameter: str) -> bool:
    """A negative case whose mutation is on `parameter` (schemathesis records it in the case's meta)."""
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return getattr(data, "parameter", None) == parameter
