from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from rating.domain.model import ProductType
from rating.domain.proration import transition_preview

START = datetime(2025, 3, 1, tzinfo=UTC)
MONTH = {"unit": "month", "count": 1}


def fee(code, amount, quantity="1", type=ProductType.RECURRING_FEE, interval=MONTH, proration="daily", **more):
    return SimpleNamespace(code=code, name=code, type=type, purchased=True, value=Decimal(amount),
                           quantity=Decimal(quantity), interval=interval, proration=proration, currency="EUR",
                           valid_to=None, **more)


def test_a_transition_mid_month_credits_the_unused_days_and_charges_the_new_plan_for_them():
    # 31-day March, transition on the 11th: 21 days (11th..31st) are left.
    preview = transition_preview([fee("OLD", "31.00")], [fee("NEW", "62.00")], START,
                                 datetime(2025, 3, 11, 12, tzinfo=UTC))
    lines = {line["productCode"]: line for line in preview["lines"]}
    assert lines["OLD"]["kind"] == "credit" and lines["OLD"]["amount"] == "-21.000000"
    assert lines["NEW"]["kind"] == "charge" and lines["NEW"]["amount"] == "42.000000"
    assert lines["NEW"]["periodStart"] == "2025-03-01T00:00:00+00:00"
    assert lines["NEW"]["periodEnd"] == "2025-04-01T00:00:00+00:00"
    assert preview["totals"] == [{"currency": "EUR", "amount": "21.00"}]


def test_quantity_multiplies_the_fee_and_one_time_fees_of_the_new_plan_are_charged_whole():
    preview = transition_preview([fee("OLD", "10.00", quantity="2")],
                                 [fee("SIM", "9.99", type=ProductType.ONE_TIME_FEE, interval={})], START,
                                 datetime(2025, 3, 1, tzinfo=UTC))
    amounts = {line["productCode"]: Decimal(line["amount"]) for line in preview["lines"]}
    assert amounts == {"OLD": Decimal("-20"), "SIM": Decimal("9.99")}


def test_a_fee_without_proration_is_credited_and_charged_whole():
    preview = transition_preview([fee("OLD", "19.99", proration="none")], [fee("NEW", "29.99", proration="none")],
                                 START, datetime(2025, 3, 20, tzinfo=UTC))
    assert preview["totals"] == [{"currency": "EUR", "amount": "10.00"}]


def test_service_products_discounts_and_not_purchased_products_change_no_money():
    service = fee("DATA", "5120", type=ProductType.SERVICE, interval={})
    optional = fee("EXTRA", "5.00")
    optional.purchased = False
    preview = transition_preview([service], [service, optional], START, datetime(2025, 3, 5, tzinfo=UTC))
    assert preview["lines"] == [] and preview["totals"] == []
