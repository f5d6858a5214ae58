"""Invoice lines: usage summed per service, rounding half-up per line, tax per line, totals of lines."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain.cycles import Calendar, Cycle
from billing.domain.fees import Snapshot, one_time_charges, recurring_charges
from billing.domain.lines import Charge, ItemKind, Tax, invoice_lines, totals
from billing.domain.profiles import Interval
from billing.domain.proration import prorate

VAT = Tax("VAT", Decimal("22"), "State", "2200")
D = Decimal


def usage(amount, service="s1", **extra):
    return Charge(ItemKind.USAGE, "Voice", D(amount), tax_code="VAT", service_id=service, units=D(1), events=1,
                  **extra)


def test_usage_charges_of_one_service_make_one_line_rounded_half_up():
    lines = invoice_lines([usage("0.0025"), usage("0.0025"), usage("1.001", service="s2")], {"VAT": VAT}, "EUR")
    assert [(line.service_id, line.amount, line.units, line.events) for line in lines] == [
        ("s1", D("0.01"), D(2), 2), ("s2", D("1.00"), D(1), 1)]


def test_tax_is_computed_and_rounded_per_line_and_totals_are_sums_of_rounded_lines():
    charges = [Charge(ItemKind.RECURRING_FEE, f"fee {i}", D("0.105")) for i in range(3)]
    taxed = [Charge(c.kind, c.description, c.amount, tax_code="VAT") for c in charges]
    lines = invoice_lines(taxed, {"VAT": VAT}, "EUR")
    assert [line.amount for line in lines] == [D("0.11")] * 3
    assert [line.tax_amount for line in lines] == [D("0.02")] * 3  # 0.0242 each
    assert totals(lines, "EUR") == totals(lines, "EUR").__class__(D("0.33"), D("0.06"), D("0.39"))


def test_a_currency_without_minor_units_rounds_to_whole_amounts():
    lines = invoice_lines([Charge(ItemKind.ONE_TIME_FEE, "SIM", D("100.5"))], {}, "JPY")
    assert lines[0].amount == D("101")


def test_adjustments_and_transfers_stay_lines_of_their_own():
    charges = [Charge(ItemKind.ADJUSTMENT, "goodwill", D("-5")), Charge(ItemKind.ADJUSTMENT, "goodwill", D("-5")),
               Charge(ItemKind.HIERARCHY_TRANSFER, "INV-1", D("10"), reference="inv-1")]
    assert len(invoice_lines(charges, {}, "EUR")) == 3


START = datetime(2026, 3, 1, tzinfo=UTC)
MARCH = Cycle(START, datetime(2026, 4, 1, tzinfo=UTC))
FEE = {"id": "p1", "code": "MOBILE-FEE", "name": "Mobile fee", "type": "recurring_fee", "amount": "31.00",
       "quantity": "1", "currency": "EUR", "proration": "daily", "tax": "VAT", "glCode": "4000", "status": "active"}


def test_a_fee_active_the_whole_cycle_is_charged_in_full():
    [charge] = recurring_charges([Snapshot(START - timedelta(days=40), [FEE])], MARCH, "bg")
    assert charge.amount == D("31.00") and charge.kind is ItemKind.RECURRING_FEE and charge.tax_code == "VAT"


def test_a_fee_started_mid_cycle_is_prorated_by_days_started():
    [charge] = recurring_charges([Snapshot(datetime(2026, 3, 11, 15, tzinfo=UTC), [FEE])], MARCH, "bg")
    assert charge.amount == D("21.00")  # 11th to 31st: 21 of 31 days


def test_a_price_change_mid_cycle_splits_the_fee_and_the_parts_add_up():
    change = datetime(2026, 3, 16, tzinfo=UTC)
    charges = recurring_charges([Snapshot(START - timedelta(days=1), [FEE]),
                                 Snapshot(change, [{**FEE, "amount": "62.00"}])], MARCH, "bg")
    assert [c.amount for c in charges] == [D("15.00"), D("32.00")]


def test_a_cancelled_subscription_stops_its_fees_at_the_cancel_instant():
    charges = recurring_charges([Snapshot(START, [FEE]), Snapshot(datetime(2026, 3, 11, tzinfo=UTC), [], True)],
                                MARCH, "bg")
    assert [c.amount for c in charges] == [D("10.00")]


def test_a_change_elsewhere_in_the_subscription_does_not_split_an_unchanged_fee():
    addon = {**FEE, "id": "p2", "code": "ADDON", "amount": "3.10"}
    charges = recurring_charges([Snapshot(START, [FEE]), Snapshot(datetime(2026, 3, 20, tzinfo=UTC), [FEE, addon])],
                                MARCH, "bg")
    assert sorted(c.amount for c in charges) == [D("1.20"), D("31.00")]


def test_a_one_time_fee_is_charged_once_on_the_first_bill_after_its_purchase():
    sim = {**FEE, "id": "p3", "type": "one_time_fee", "amount": "5.00", "quantity": "2"}
    history = [Snapshot(datetime(2026, 3, 5, tzinfo=UTC), [FEE, sim])]
    assert [c.amount for c in one_time_charges(history, MARCH.end, set(), "bg")] == [D("10.00")]
    assert one_time_charges(history, MARCH.end, {"p3"}, "bg") == []
    assert one_time_charges(history, datetime(2026, 3, 1, tzinfo=UTC), set(), "bg") == []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([Calendar(Interval.MONTHLY, d) for d in (1, 15, 29, 31)]
                       + [Calendar(Interval.WEEKLY, 3), Calendar(Interval.QUARTERLY, 31, 11),
                          Calendar(Interval.YEARLY, 29, 2)]),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=5),
       st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2))
def test_the_prorated_parts_of_a_fee_over_a_cycle_add_up_to_the_whole_fee(calendar, instant, cuts, amount):
    cycle = calendar.cycle_containing(instant)
    days = (cycle.end - cycle.start).days
    points = sorted({cycle.start + timedelta(days=int(c * days)) for c in cuts} | {cycle.start, cycle.end})
    parts = [prorate(amount, cycle.start, cycle.end, a, b, "daily") for a, b in zip(points, points[1:], strict=False)]
    assert sum(parts) == amount
