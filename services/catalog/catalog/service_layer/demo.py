"""The demo catalog (README, `python -m catalog load-demo`): a small mobile offer that exercises every
part of the catalog. Loaded through the same use cases as the API, so it obeys every rule."""
from __future__ import annotations

from typing import Any

from catalog.adapters.documents import ALL_DOCUMENTS, PromotionCode
from catalog.service_layer import config, offerings, promotions
from chassis.clock import utc_now

SINCE = "2024-01-01T00:00:00+00:00"
RATE = {"unitSize": "1", "rounding": "up"}

RESOURCES = [
    {"code": "EUR", "name": "Euro", "kind": "monetary", "currency": "EUR"},
    {"code": "MB", "name": "Data volume", "kind": "unit", "unit": "MB"},
    {"code": "MIN", "name": "Voice minutes", "kind": "unit", "unit": "min"},
    {"code": "SMS", "name": "Text messages", "kind": "unit", "unit": "SMS"},
]
SERVICE_TYPES = [
    {"code": "voice", "name": "Voice call", "fields": [
        {"name": "startTime", "type": "datetime", "role": "mandatory"},
        {"name": "endTime", "type": "datetime", "role": "mandatory"},
        {"name": "origin", "type": "string", "role": "optional", "description": "calling network or country"},
        {"name": "destination", "type": "enum", "role": "ratingSet",
         "allowedValues": ["national", "eu", "international"]},
        {"name": "from", "type": "string", "role": "mandatory", "description": "calling number"},
        {"name": "to", "type": "string", "role": "mandatory", "description": "called number"},
        {"name": "timeBand", "type": "enum", "role": "ratingSet", "allowedValues": ["peak", "offpeak"]},
    ]},
    {"code": "data", "name": "Mobile data session", "fields": [
        {"name": "startTime", "type": "datetime", "role": "mandatory"},
        {"name": "apn", "type": "string", "role": "optional"},
        {"name": "zone", "type": "enum", "role": "ratingSet", "allowedValues": ["home", "eu"]},
    ]},
    {"code": "sms", "name": "Text message", "fields": [
        {"name": "sentAt", "type": "datetime", "role": "mandatory"},
        {"name": "from", "type": "string", "role": "mandatory"},
        {"name": "to", "type": "string", "role": "mandatory"},
        {"name": "destination", "type": "enum", "role": "ratingSet", "allowedValues": ["national", "international"]},
    ]},
]
CUSTOMER_TYPES = [
    {"code": "regular", "name": "Regular", "description": "Private customers"},
    {"code": "commercial", "name": "Commercial", "description": "Business customers"},
]
CUSTOM_ATTRIBUTES: list[dict[str, Any]] = [
    {"entity": "customer", "name": "segment", "type": "enum", "allowedValues": ["consumer", "smb", "enterprise"]},
    {"entity": "customer", "name": "referralCode", "type": "string", "description": "who brought the customer"},
]
TAXES = [{"code": "VAT", "name": "Value added tax", "rate": "19", "supplier": "Federal Central Tax Office",
          "glCode": "3806"}]
MONTH = {"unit": "month", "count": 1}
PRODUCTS: list[dict[str, Any]] = [
    {"code": "VOICE-MIN", "name": "Voice minutes", "type": "service", "serviceType": "voice", "resource": "MIN",
     "priceResource": "EUR", "freeUnits": "100", "defaultValidity": MONTH, "tax": "VAT", "glCode": "4000",
     "rateTable": {"keys": ["destination", "timeBand"], "rates": [
         {"key": {"destination": "national", "timeBand": "*"}, "pricePerUnit": "0.09", **RATE},
         {"key": {"destination": "eu", "timeBand": "*"}, "pricePerUnit": "0.19", **RATE},
         {"key": {"destination": "international", "timeBand": "peak"}, "pricePerUnit": "0.99", **RATE},
         {"key": {"destination": "international", "timeBand": "offpeak"}, "pricePerUnit": "0.59", **RATE}]}},
    {"code": "DATA-MB", "name": "Mobile data", "type": "service", "serviceType": "data", "resource": "MB",
     "priceResource": "EUR", "freeUnits": "5120", "defaultValidity": MONTH, "tax": "VAT", "glCode": "4010",
     "rateTable": {"keys": ["zone"], "rates": [{"key": {"zone": "home"}, "pricePerUnit": "0.01", **RATE},
                                               {"key": {"zone": "eu"}, "pricePerUnit": "0.02", **RATE}]}},
    {"code": "SMS-MSG", "name": "Text messages", "type": "service", "serviceType": "sms", "resource": "SMS",
     "priceResource": "EUR", "freeUnits": "50", "defaultValidity": MONTH, "tax": "VAT", "glCode": "4020",
     "rateTable": {"keys": ["destination"], "rates": [
         {"key": {"destination": "national"}, "pricePerUnit": "0.09", **RATE},
         {"key": {"destination": "international"}, "pricePerUnit": "0.19", **RATE}]}},
    {"code": "MOBILE-FEE", "name": "Monthly fee", "type": "recurring_fee", "amount": "19.99", "resource": "EUR",
     "interval": MONTH, "proration": "daily", "tax": "VAT", "glCode": "4100"},
    {"code": "SIM-ACTIVATION", "name": "SIM activation", "type": "one_time_fee", "amount": "9.99",
     "resource": "EUR", "optional": True, "tax": "VAT", "glCode": "4110"},
    {"code": "LOYALTY-10", "name": "Loyalty discount 10 %", "type": "discount", "optional": True,
     "discount": {"kind": "percentage", "value": "10", "appliesTo": {"productTypes": ["recurring_fee"]}}},
    {"code": "DATA-ADDON-5GB", "name": "5 GB extra data", "type": "service", "serviceType": "data",
     "resource": "MB", "priceResource": "EUR", "freeUnits": "5120", "defaultValidity": {"unit": "day", "count": 30},
     "tax": "VAT", "glCode": "4010",
     "rateTable": {"keys": ["zone"], "rates": [{"key": {"zone": "*"}, "pricePerUnit": "0.01", **RATE}]}},
    {"code": "DATA-ADDON-FEE", "name": "5 GB extra data fee", "type": "one_time_fee", "amount": "4.99",
     "resource": "EUR", "tax": "VAT", "glCode": "4120"},
    {"code": "WELCOME-5", "name": "Welcome discount 5 EUR", "type": "discount", "resource": "EUR",
     "discount": {"kind": "amount", "value": "5", "appliesTo": {"products": ["MOBILE-FEE"]}}},
]
BUNDLES: list[dict[str, Any]] = [
    {"code": "MOBILE-BASIC", "name": "Mobile basics", "products": [
        {"code": c} for c in ("VOICE-MIN", "DATA-MB", "SMS-MSG", "MOBILE-FEE", "SIM-ACTIVATION", "LOYALTY-10")]},
    {"code": "DATA-5GB", "name": "5 GB data add-on", "addOn": True,
     "products": [{"code": "DATA-ADDON-5GB"}, {"code": "DATA-ADDON-FEE"}]},
]
PLANS = [{"code": "MOBILE-S", "name": "Mobile S", "description": "100 minutes, 5 GB, 50 SMS for 19.99 EUR a month",
          "paymentTypes": ["postpaid", "prepaid"], "bundles": [{"code": "MOBILE-BASIC"}],
          "addOns": [{"code": "DATA-5GB"}]}]
COUPONS = [{"code": "WELCOME5", "name": "Welcome offer", "discount": {"code": "WELCOME-5"}, "validFrom": SINCE}]
VOUCHER_BATCHES = [{"name": "Launch vouchers: 5 GB", "prefix": "DATA", "bundle": {"code": "DATA-5GB"},
                    "count": 10, "validFrom": SINCE}]
CREDIT_PROFILES = [{"code": "STANDARD", "name": "Standard credit", "limits": [
    {"resource": "EUR", "creditLimit": "100", "thresholds": [
        {"kind": "percent", "value": "80", "channels": ["email", "sms"]},
        {"kind": "percent", "value": "100", "channels": ["email", "sms", "webhook"]}]}]}]
SHARING_POLICIES = [{"code": "FAMILY", "name": "Family sharing", "onExhausted": "fallback", "resources": [
    {"resource": "MB", "memberCap": "2048"}, {"resource": "MIN", "memberCap": None}]}]


def is_empty() -> bool:
    return not any(doc.objects.limit(1).count(with_limit_and_skip=True) for doc in ALL_DOCUMENTS
                   if doc is not PromotionCode)


def load_demo() -> str:
    """Load the demo catalog into an empty catalog; a catalog with anything in it is left alone."""
    if not is_empty():
        return "catalog: not empty, demo catalog not loaded"
    configuration: list[tuple[str, list[dict[str, Any]]]] = [
        ("resource", RESOURCES), ("service_type", SERVICE_TYPES), ("customer_type", CUSTOMER_TYPES),
        ("custom_attribute", CUSTOM_ATTRIBUTES), ("tax", TAXES)]
    for kind, entries in configuration:
        for entry in entries:
            config.create(kind, entry)
    offering_entries: list[tuple[str, list[dict[str, Any]]]] = [
        ("product", PRODUCTS), ("bundle", BUNDLES), ("plan", PLANS)]
    for kind, entries in offering_entries:
        for entry in entries:
            offerings.create(kind, entry)
            offerings.publish(kind, entry["code"], 1)
    promotion_entries: list[tuple[str, list[dict[str, Any]]]] = [
        ("coupon", COUPONS), ("credit_profile", CREDIT_PROFILES), ("sharing_policy", SHARING_POLICIES)]
    for kind, entries in promotion_entries:
        for entry in entries:
            config.create(kind, entry)
    batches = [promotions.create_voucher_batch(batch) for batch in VOUCHER_BATCHES]
    loaded: dict[str, Any] = {"plans": len(PLANS), "bundles": len(BUNDLES), "products": len(PRODUCTS),
                              "vouchers": sum(b["count"] for b in batches)}
    return f"catalog: demo catalog loaded at {utc_now().isoformat()}: {loaded}"
