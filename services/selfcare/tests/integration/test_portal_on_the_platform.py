"""The portal with the services it reads from (rating, billing, customer): the demo loader of
`make up`. (The schemathesis scan of the portal's API, logged in, is in the fuzz tier: tests/fuzz.)"""
from decimal import Decimal

import pytest

# The first test also waits for the module's processes to start: minutes on a busy machine.
pytestmark = [pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def platform(start_services):
    platform = start_services("catalog", "customer", "rating", "billing", "selfcare", "selfcare:api", "gateway:api")
    platform.run_job("catalog", "load-demo")
    return platform


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
