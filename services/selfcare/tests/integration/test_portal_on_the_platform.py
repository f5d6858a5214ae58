"""The portal with the services it reads from (rating, billing, customer): the demo loader of
`make up`, and a security scan — schemathesis generates requests for every operation of
selfcare.yaml and sends them with a logged-in session; no answer may be a 5xx or break the
contract (status codes, content types, headers and bodies as documented)."""
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from chassis.contracts import http_spec

# The first test also waits for the module's processes to start: minutes on a busy machine.
pytestmark = [pytest.mark.timeout(1200)]

CONTRACT_CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                   checks.response_schema_conformance, checks.response_headers_conformance]
# Sent with the real CSRF token, except where a random one must not end the scan's session.
SESSION_ENDING = {("DELETE", "/api/v1/session"), ("POST", "/api/v1/password")}


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "customer", "rating", "billing", "selfcare", "selfcare:api", "gateway:api")
    platform.run_job("catalog", "load-demo")
    return platform


@pytest.fixture(scope="module")
def logged_in(platform, operator, mailbox, kit):
    customer_id, user = kit.create_user(operator)
    operator.post(f"/api/v1/customers/{customer_id}/portalUser/verificationEmail")
    token = mailbox.token(customer_id, "verification")
    with kit.portal_client(platform) as client:
        assert client.post("/api/v1/email-verifications", json={"token": token}).status_code == 200
        session = kit.log_in(client, user["email"])
        assert session.status_code == 200, session.text
        return {"cookie": client.portal_cookies.values["selfcare_session"], "csrf": session.json()["csrfToken"],
                "url": platform["selfcare:api"].url}


# Loaded at import: schemathesis' lazy fixture loader does not work with pytest 9.
schema = schemathesis.openapi.from_dict(http_spec("selfcare"))


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_request_to_the_portal_api_gets_a_server_error_or_breaks_the_contract(case, logged_in):
    headers = {} if (case.method.upper(), case.path) in SESSION_ENDING else {"X-CSRF-Token": logged_in["csrf"]}
    case.call_and_validate(base_url=logged_in["url"], headers=headers,
                           cookies={"selfcare_session": logged_in["cookie"]}, checks=CONTRACT_CHECKS)


def test_the_demo_loader_makes_a_customer_whose_balances_usage_and_invoice_the_portal_shows(platform, kit):
    platform.env["GATEWAY_URL"] = platform["gateway:api"].url
    printed = platform.run_job("selfcare", "load-demo", timeout=600)
    assert "portal login demo.customer@example.com / harbour-lights-portal-2026" in printed
    assert platform.run_job("selfcare", "load-demo", timeout=600) == printed  # a second run changes nothing
    with kit.portal_client(platform) as portal:
        assert kit.log_in(portal, "demo.customer@example.com", "harbour-lights-portal-2026").status_code == 200
        totals = [t for g in portal.get("/api/v1/balances").json()["balanceGroups"] for t in g["totals"]]
        # Credit is negative (the seed's sign): 100 free minutes less 23.
        assert ("MIN", Decimal("-77")) in [(t["resource"], Decimal(t["amount"])) for t in totals]
        assert portal.get("/api/v1/usage").json()["total"] == 3
        invoices = portal.get("/api/v1/invoices").json()["items"]
        assert len(invoices) == 1 and invoices[0]["status"] == "billing"
