from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from chassis.contracts import validate_event_data
from rating.domain.model import ProductStatus, ProductType, SubscriptionStatus
from rating.domain.snapshot import cancellation_event, subscription_event

AT = datetime(2025, 3, 1, tzinfo=UTC)


def product(code, type, value=None, purchased=True, **more):
    fields = {"id": f"p-{code}", "code": code, "version": 1, "name": code, "type": type, "bundle_code": "BASIC",
              "promo_code": None, "quantity": Decimal(1), "value": value, "currency": "EUR", "interval": {},
              "proration": None, "tax": "VAT", "gl_code": "4000", "discount": {}, "service_type": None,
              "service_id": None, "resource": "EUR", "free_units": None, "valid_from": AT, "valid_to": None,
              "status": ProductStatus.ACTIVE, "purchased": purchased}
    return SimpleNamespace(**{**fields, **more})


def subscription(*products):
    return SimpleNamespace(id="s-1", customer_id=7, balance_group_id="bg-1", billing_profile_id="bp-1",
                           plan_code="MOBILE-S", plan_version=1, status=SubscriptionStatus.ACTIVE, products=products)


def test_the_snapshot_carries_what_billing_needs_for_each_fee_and_matches_the_contract():
    fee = product("MOBILE-FEE", ProductType.RECURRING_FEE, Decimal("17.50"), interval={"unit": "month", "count": 1},
                  proration="daily")
    voice = product("VOICE-MIN", ProductType.SERVICE, Decimal("100"), service_type="voice", service_id="svc-1",
                    resource="MIN", free_units=Decimal("100"))
    loyalty = product("LOYALTY-10", ProductType.DISCOUNT, Decimal("10"), purchased=False)
    event = subscription_event(subscription(fee, voice, loyalty), AT)
    validate_event_data("subscription.created", event)
    assert [p["code"] for p in event["products"]] == ["MOBILE-FEE", "VOICE-MIN"]  # only what was bought
    sent_fee, sent_voice = event["products"]
    assert sent_fee["amount"] == "17.50" and sent_fee["interval"] == {"unit": "month", "count": 1}
    assert sent_fee["proration"] == "daily" and sent_fee["glCode"] == "4000" and sent_fee["tax"] == "VAT"
    assert sent_voice["amount"] is None and sent_voice["freeUnits"] == "100"


def test_a_change_names_what_changed_and_a_cancellation_only_who_and_when():
    cancelled = product("SIM", ProductType.ONE_TIME_FEE, Decimal("9.99"), status=ProductStatus.CANCELLED,
                        valid_to=AT)
    changed = subscription_event(subscription(cancelled), AT, "product_cancelled")
    validate_event_data("subscription.changed", changed)
    assert changed["change"] == "product_cancelled" and changed["products"][0]["status"] == "cancelled"
    ended = cancellation_event(subscription(), AT)
    validate_event_data("subscription.cancelled", ended)
    assert ended == {"id": "s-1", "customerId": 7, "balanceGroupId": "bg-1", "billingProfileId": "bp-1",
                     "at": AT.isoformat()}
