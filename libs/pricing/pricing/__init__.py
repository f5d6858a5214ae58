"""Pure pricing rules shared by catalog, rating and billing (no I/O, no dependencies).

One place for: rate-row lookup and usage charges (`rates`), proration by explicit instants
(`proration`), discounts (`discounts`), rounding to rating precision and to a currency's minor unit
(`rounding`, `currency`), and line tax with totals that are sums of rounded lines (`tax`).
"""
from pricing.currency import UnknownCurrency, is_currency, minor_units
from pricing.discounts import discount_amount, discount_applies
from pricing.products import ProductType
from pricing.proration import prorate
from pricing.rates import WILDCARD, billable_units, field_text, find_rate, key_matches, keys_overlap, usage_charge
from pricing.rounding import RATING_PLACES, ROUNDING, round_currency, round_rating
from pricing.tax import TaxedLine, Totals, line_tax, taxed_line, totals

__all__ = [
    "RATING_PLACES", "ROUNDING", "WILDCARD", "ProductType", "TaxedLine", "Totals", "UnknownCurrency", "billable_units",
    "discount_amount", "discount_applies", "field_text", "find_rate", "is_currency", "key_matches", "keys_overlap",
    "line_tax", "minor_units", "prorate", "round_currency", "round_rating", "taxed_line", "totals", "usage_charge",
]
