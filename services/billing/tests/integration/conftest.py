import pytest

from billing.adapters.documents import ALL_DOCUMENTS
from chassis.errors import NotFound
from chassis.mongo import ensure_indexes


class CatalogStandIn:
    """The two catalog reads billing makes, answered from a dict (the real catalog is used end to end)."""

    def __init__(self):
        self.resources = {"EUR": {"code": "EUR", "kind": "monetary", "currency": "EUR"},
                          "JPY": {"code": "JPY", "kind": "monetary", "currency": "JPY"},
                          "MIN": {"code": "MIN", "kind": "unit", "unit": "minute"}}
        self.taxes = {"VAT": {"code": "VAT", "rate": "22", "supplier": "FURS", "glCode": "2200"},
                      "RED": {"code": "RED", "rate": "9.5", "supplier": "FURS", "glCode": "2210"}}

    def get_resource(self, code):
        if code not in self.resources:
            raise NotFound(f"no resource {code}")
        return self.resources[code]

    def get_tax(self, code):
        if code not in self.taxes:
            raise NotFound(f"no tax {code}")
        return dict(self.taxes[code])


@pytest.fixture
def catalog():
    return CatalogStandIn()


@pytest.fixture
def billing_db(service_db):
    db = service_db("billing")
    ensure_indexes(ALL_DOCUMENTS, db)
    return db


@pytest.fixture
def profile_payload():
    def make(customer_id=7, **overrides):
        return {"customerId": customer_id, "paymentType": "postpaid", "resource": "EUR", "interval": "monthly",
                "billingDay": 31, **overrides}
    return make
