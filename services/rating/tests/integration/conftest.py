import pytest

from chassis.mongo import ensure_indexes
from rating.adapters.documents import ALL_DOCUMENTS
from rating.service_layer import balance_groups


@pytest.fixture
def rating_db(service_db):
    db = service_db("rating")
    ensure_indexes(ALL_DOCUMENTS, db)
    return db


@pytest.fixture
def balance_group(rating_db):
    def make(customer_id=7):
        return balance_groups.create_balance_group({"customerId": customer_id, "billingProfileId": "bp-1"})
    return make


@pytest.fixture
def subscription_payload():
    def make(customer_id, group_id, identifier="38640111222", **overrides):
        return {
            "customerId": customer_id, "balanceGroupId": group_id, "billingProfileId": "bp-1",
            "plan": {"code": "MOBILE", "version": 1, "name": "Mobile"},
            "promoCodes": ["WELCOME"],
            "products": [
                {"bundleCode": "BASE", "bundleVersion": 1, "code": "VOICE", "version": 1, "name": "Voice",
                 "type": "service", "serviceType": "voice", "quantity": "1", "value": None,
                 "validity": {"unit": "month", "count": 1}, "purchased": True, "resource": "MIN",
                 "freeUnits": "100", "serviceIdentifier": identifier},
                {"bundleCode": "BASE", "bundleVersion": 1, "code": "FEE", "version": 2, "name": "Monthly fee",
                 "type": "recurring_fee", "serviceType": None, "quantity": "2", "value": "9.90",
                 "validity": {"unit": "unlimited"}, "purchased": True, "resource": "EUR", "freeUnits": None},
                {"bundleCode": "EXTRA", "bundleVersion": 1, "code": "DATA", "version": 1, "name": "Data",
                 "type": "service", "serviceType": "data", "quantity": "1", "value": None, "validity": None,
                 "purchased": False, "resource": None, "freeUnits": None},
            ],
            **overrides,
        }
    return make
