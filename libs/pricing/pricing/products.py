"""The kinds of catalog product, as the catalog publishes them and rating and billing price them."""
from __future__ import annotations

from enum import StrEnum


class ProductType(StrEnum):
    SERVICE = "service"
    RECURRING_FEE = "recurring_fee"
    ONE_TIME_FEE = "one_time_fee"
    DISCOUNT = "discount"
