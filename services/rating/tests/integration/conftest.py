from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chassis.mongo import ensure_indexes, transaction
from rating.adapters.catalog import StaticCatalog
from rating.adapters.documents import ALL_DOCUMENTS
from rating.adapters.indexes import ensure_usage_indexes
from rating.service_layer import balance_groups, subscriptions
from rating.service_layer.balances import Grant, grant_balance


@pytest.fixture
def rating_db(service_db):
    db = service_db("rating")
    ensure_indexes(ALL_DOCUMENTS, db)
    ensure_usage_indexes()  # as the worker creates them (the flush of pending charges names its index)
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


# -- a voice line as the seed's usage example needs it (rating only; the catalog is held in memory) --------
VOICE_FIELDS = [
    {"name": "startTime", "type": "datetime", "role": "mandatory"},
    {"name": "endTime", "type": "datetime", "role": "mandatory"},
    {"name": "from", "type": "string", "role": "mandatory"},
    {"name": "to", "type": "string", "role": "mandatory"},
    {"name": "origin", "type": "string", "role": "optional"},
    {"name": "destination", "type": "string", "role": "ratingSet"},
]
NOW = datetime.now(UTC).replace(microsecond=0)
LATENESS = timedelta(hours=72)


@pytest.fixture
def voice_catalog():
    return StaticCatalog(
        {("service_type", "voice"): {"code": "voice", "fields": VOICE_FIELDS},
         ("resource", "MIN"): {"code": "MIN", "kind": "unit", "consumptionOrder": ["earliestExpiry"]},
         ("resource", "EUR"): {"code": "EUR", "kind": "monetary", "currency": "EUR", "consumptionOrder": []},
         ("sharing_policy", "FAMILY"): {"code": "FAMILY", "onExhausted": "fallback",
                                        "resources": [{"resource": "MIN", "memberCap": "40"}]},
         ("sharing_policy", "STRICT"): {"code": "STRICT", "onExhausted": "deny",
                                        "resources": [{"resource": "MIN", "memberCap": None}]},
         ("credit_profile", "STANDARD"): {"code": "STANDARD", "limits": [{"resource": "EUR", "creditLimit": "100",
                                          "thresholds": [{"kind": "percent", "value": "80", "channels": ["email"]},
                                                         {"kind": "percent", "value": "100",
                                                          "channels": ["sms"]}]}]}},
        {("VOICE", 1): {"code": "VOICE", "version": 1, "type": "service", "resource": "MIN", "priceResource": "EUR",
                        "rateTable": {"keys": ["destination"], "rates": [
                            {"key": {"destination": "Italy"}, "pricePerUnit": "2.5", "unitSize": "1",
                             "rounding": "up"},
                            {"key": {"destination": "*"}, "pricePerUnit": "0.10", "unitSize": "1",
                             "rounding": "up"}]}}})


@pytest.fixture
def voice_line(rating_db, balance_group, subscription_payload):
    def make(customer_id=7, identifier="08094349013"):
        group = balance_group(customer_id)
        payload = subscription_payload(customer_id, group["id"], identifier=identifier,
                                       validFrom=(NOW - timedelta(days=10)).isoformat())
        payload["products"][0]["freeUnits"] = None  # each test grants the balances it needs
        return group, subscriptions.create_subscription(payload)
    return make


@pytest.fixture
def grant():
    def make(group_id, resource, amount, **kw):
        return transaction(lambda uow: grant_balance(uow, Grant(
            balance_group_id=group_id, resource=resource, amount=Decimal(amount),
            validity=kw.pop("validity", "infinite"), valid_from=NOW - timedelta(days=10), **kw)), source="rating")
    return make


def voice_call(event_id="1", start=None, quantity="20", destination="Italy", identifier="08094349013", **overrides):
    start = start or NOW - timedelta(hours=1)
    return {"id": event_id, "serviceType": "voice", "serviceIdentifier": identifier,
            "startTime": start.isoformat(), "quantity": quantity,
            "fields": {"endTime": (start + timedelta(minutes=20)).isoformat(), "from": "08094349013",
                       "to": "08149110574", "origin": "Slovenia", "destination": destination}, **overrides}


@pytest.fixture
def call():
    return voice_call


@pytest.fixture
def amount_of(rating_db):
    return lambda balance_id: rating_db.balances.find_one({"_id": balance_id})["amount"].to_decimal()
