"""Voucher rules of a purchase, over an in-memory catalog and rating (use cases with fakes, no I/O)."""
import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from gateway.service_layer import inventory

BUNDLE = {"code": "DATA-5GB", "version": 1, "name": "5 GB", "products": [
    {"code": "DATA-ADDON", "version": 1, "name": "Extra data", "type": "service", "serviceType": "data",
     "defaultQuantity": "1", "defaultValue": "5120", "resource": "MB", "freeUnits": "5120"}]}
SUBSCRIPTION = {"id": "s-1", "status": "active", "planCode": "P", "planVersion": 1,
                "services": [{"serviceType": "data", "identifier": "38640111222", "status": "active"}]}


class FakePlatform:
    """Catalog vouchers (redeemed atomically: one subscription each) and a rating that may refuse."""

    def __init__(self, rating_refuses=False):
        self.vouchers = {"DATA-1": None, "DATA-2": None, "DATA-3": "someone else"}
        self.rating_refuses = rating_refuses
        self.bought = []

    def call(self, service, method, *args):
        return getattr(self, f"{service}_{method}")(*args)

    def catalog_resolve_promotion(self, code):
        if code == "WELCOME5":
            return {"code": code, "kind": "coupon", "discount": {}}
        if code not in self.vouchers:
            raise NotFound(f"no promotion {code}")
        return {"code": code, "kind": "voucher", "bundle": {"code": "DATA-5GB", "version": 1}}

    def catalog_redeem_voucher(self, code, customer_id, subscription_id):
        if self.vouchers[code] not in (None, subscription_id):
            raise Conflict("already redeemed")
        self.vouchers[code] = subscription_id

    def catalog_release_voucher(self, code, subscription_id):
        if self.vouchers.get(code) == subscription_id:
            self.vouchers[code] = None

    def catalog_get_bundle(self, code, version):
        return BUNDLE

    def rating_get_subscription(self, subscription_id, customer_id):
        return SUBSCRIPTION

    def rating_add_products(self, customer_id, subscription_id, payload):
        if self.rating_refuses:
            raise Conflict("refused", {"products.0.serviceIdentifier": "in use"})
        self.bought += payload["products"]
        return {"id": subscription_id, "products": self.bought}


def test_each_voucher_buys_its_bundle_once_on_the_service_its_type_already_has():
    platform = FakePlatform()
    result = inventory.use_vouchers(platform, 7, "s-1", {"codes": ["DATA-1", "DATA-2"]})
    assert [p["promoCode"] for p in result["products"]] == ["DATA-1", "DATA-2"]
    assert {p["serviceIdentifier"] for p in result["products"]} == {"38640111222"}
    assert platform.vouchers["DATA-1"] == platform.vouchers["DATA-2"] == "s-1"


@pytest.mark.parametrize(("codes", "error", "field"), [
    (["DATA-1", "DATA-3"], Conflict, "codes.1"),           # redeemed by someone else
    (["DATA-1", "NOPE"], ValidationFailed, "codes.1"),     # no such code: a bad request
    (["DATA-1", "DATA-1"], Conflict, "codes.1"),           # a voucher buys its bundle once
    (["WELCOME5"], Conflict, "codes.0"),                   # a coupon is not a voucher
])
def test_a_refused_code_releases_the_vouchers_already_redeemed_and_buys_nothing(codes, error, field):
    platform = FakePlatform()
    with pytest.raises(error) as raised:
        inventory.use_vouchers(platform, 7, "s-1", {"codes": codes})
    assert field in raised.value.fields
    assert platform.vouchers["DATA-1"] is None and platform.bought == []


def test_when_rating_refuses_the_purchase_the_vouchers_are_released():
    platform = FakePlatform(rating_refuses=True)
    with pytest.raises(Conflict) as raised:
        inventory.use_vouchers(platform, 7, "s-1", {"codes": ["DATA-1"]})
    assert raised.value.fields == {"codes": "in use"}
    assert platform.vouchers["DATA-1"] is None
