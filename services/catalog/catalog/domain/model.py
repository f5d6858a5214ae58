"""Catalog vocabulary, free of I/O: the closed sets of values the catalog accepts."""
from __future__ import annotations

from enum import StrEnum

import pricing
from pricing.products import ProductType  # noqa: F401 -- the catalog's vocabulary includes it


class Status(StrEnum):
    """Lifecycle of a product, bundle or plan version (TMF620 lifecycleStatus)."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class OfferingKind(StrEnum):
    """The versioned parts of the catalog."""

    PRODUCT = "product"
    BUNDLE = "bundle"
    PLAN = "plan"


class ResourceKind(StrEnum):
    MONETARY = "monetary"
    UNIT = "unit"


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    ENUM = "enum"
    BOOLEAN = "boolean"


class FieldRole(StrEnum):
    MANDATORY = "mandatory"
    OPTIONAL = "optional"
    RATING_SET = "ratingSet"


# Service-type fields use every type but boolean (the list); custom attributes add boolean.
SERVICE_FIELD_TYPES = [t.value for t in FieldType if t is not FieldType.BOOLEAN]
ATTRIBUTE_TYPES = [t.value for t in FieldType]
ATTRIBUTE_ENTITIES = ["customer"]

# How several balances of one resource are drawn down, first criterion first.
CONSUMPTION_CRITERIA = ["earliestExpiry", "latestExpiry", "priority", "oldest", "newest"]
OPPOSITE_CRITERIA = [("earliestExpiry", "latestExpiry"), ("oldest", "newest")]

ROUNDING_MODES = list(pricing.rates.UNIT_ROUNDING)
VALIDITY_UNITS = ["day", "week", "month", "year", "unlimited"]
INTERVAL_UNITS = ["day", "week", "month", "year"]
PRORATION_POLICIES = list(pricing.proration.POLICIES)
PAYMENT_TYPES = ["prepaid", "postpaid"]
DISCOUNT_KINDS = list(pricing.discounts.KINDS)
THRESHOLD_KINDS = ["percent", "amount"]
CHANNELS = ["email", "sms", "webhook"]
EXHAUSTION_POLICIES = ["fallback", "deny"]
WILDCARD = pricing.WILDCARD
