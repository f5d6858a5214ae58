import pytest

from billing.adapters.documents import ALL_DOCUMENTS
from chassis.mongo import ensure_indexes


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
