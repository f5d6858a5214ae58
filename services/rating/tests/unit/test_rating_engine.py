import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing import find_rate
from rating.domain.balances import Balance
from rating.domain.engine import POSTPAID, PREPAID, BalanceBook, Share, Tariff, Threshold, crossed, rate
from rating.domain.usage import UsageRejected

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)
VOICE = Tariff("VOICE-MIN", 1, "MIN", "EUR", (
    {"key": {"destination": "national"}, "pricePerUnit": "0.09", "unitSize": "1", "rounding": "up"},
    {"key": {"destination": "*"}, "pricePerUnit": "0.50", "unitSize": "60", "rounding": "up"}), ("destination",))


def bal(id, group, resource, amount, **kw):
    return Balance(id=id, balance_group_id=group, resource=resource, amount=Decimal(amount),
                   valid_from=T0 - timedelta(days=1), valid_to=kw.pop("valid_to", None),
                   created_at=T0 - timedelta(days=1), **kw)


def rate_in(book, quantity, payment_type=POSTPAID, destination="national", group="g", share=None):
    return rate(fields={"destination": destination}, quantity=Decimal(quantity), tariff=VOICE, book=book,
                group_id=group, payment_type=payment_type, as_of=T0, share=share)


def test_free_units_are_used_first_and_the_rest_is_charged_to_a_postpaid_customer():
    book = BalanceBook([bal("free", "g", "MIN", "-10")], {})
    result = rate_in(book, "12")
    assert result.free_used == Decimal("10") and result.amount == Decimal("0.18") and result.charged == Decimal("0.18")
    assert [(i.balance_id, i.amount) for i in result.impacts] == [("free", Decimal("10"))]


def test_rating_does_not_change_the_book_until_applied_and_later_events_see_earlier_ones():
    book = BalanceBook([bal("free", "g", "MIN", "-10")], {})
    first = rate_in(book, "6")
    assert book.balances["free"].amount == Decimal("-10")
    book.apply(first)
    second = rate_in(book, "6")
    assert second.free_used == Decimal("4") and book.deltas["free"] == Decimal("6")


def test_units_round_per_the_rate_row_before_free_units_are_drawn():
    book = BalanceBook([bal("free", "g", "MIN", "-1000")], {})
    result = rate_in(book, "61", destination="eu")  # unit size 60, rounding up → 2 units = 120 MIN
    assert result.units == Decimal("2") and result.quantity == Decimal("120") and result.free_used == Decimal("120")


def test_prepaid_money_credit_pays_what_free_units_do_not_cover():
    book = BalanceBook([bal("free", "g", "MIN", "-1"), bal("wallet", "g", "EUR", "-5")], {})
    result = rate_in(book, "3", PREPAID)
    assert result.amount == Decimal("0.18") and result.charged == 0
    assert ("wallet", Decimal("0.18")) in [(i.balance_id, i.amount) for i in result.impacts]


def test_prepaid_is_denied_with_the_reason_when_credit_does_not_cover_the_event():
    book = BalanceBook([bal("wallet", "g", "EUR", "-0.10")], {})
    with pytest.raises(UsageRejected, match="prepaid credit does not cover 0.08 EUR"):
        rate_in(book, "2", PREPAID)
    assert book.balances["wallet"].amount == Decimal("-0.10")


def test_an_event_without_a_matching_rate_row_is_rejected_naming_the_fields():
    tariff = Tariff("X", 1, "MIN", "EUR", ({"key": {"destination": "national"}, "pricePerUnit": "1",
                                             "unitSize": "1", "rounding": "up"},), ("destination",))
    with pytest.raises(UsageRejected) as error:
        rate(fields={"destination": "mars"}, quantity=Decimal(1), tariff=tariff, book=BalanceBook([], {}),
             group_id="g", payment_type=POSTPAID, as_of=T0)
    assert error.value.field == "fields" and "mars" in error.value.reason


def test_a_member_draws_the_owners_pool_within_its_cap_then_falls_back_to_its_own():
    book = BalanceBook([bal("pool", "owner", "MIN", "-100"), bal("mine", "member", "MIN", "-50")], {})
    share = Share("owner", "m1", cap=Decimal("30"), used=Decimal("20"), on_exhausted="fallback")
    result = rate_in(book, "15", group="member", share=share)
    assert result.shared_used == Decimal("10") and result.free_used == Decimal("15")
    assert [(i.balance_id, i.amount) for i in result.impacts] == [("pool", Decimal("10")), ("mine", Decimal("5"))]
    book.apply(result, [share])
    assert book.shared["m1"] == Decimal("10")


def test_a_member_under_a_deny_policy_is_refused_when_the_pool_is_exhausted():
    book = BalanceBook([bal("pool", "owner", "MIN", "-3"), bal("mine", "member", "MIN", "-50")], {})
    share = Share("owner", "m1", cap=None, used=Decimal(0), on_exhausted="deny")
    with pytest.raises(UsageRejected, match="policy denies"):
        rate_in(book, "5", group="member", share=share)


def test_three_members_never_take_the_pool_below_zero():
    book = BalanceBook([bal("pool", "owner", "MB", "-1000")], {})
    tariff = Tariff("DATA", 1, "MB", "EUR", ({"key": {}, "pricePerUnit": "0.01", "unitSize": "1",
                                              "rounding": "up"},))
    shares = [Share("owner", f"m{i}", None, Decimal(0), "deny") for i in range(3)]
    accepted = 0
    for _ in range(10):
        for i, share in enumerate(shares):
            try:
                result = rate(fields={}, quantity=Decimal("150"), tariff=tariff, book=book, group_id=f"member{i}",
                              payment_type=POSTPAID, as_of=T0, share=share)
            except UsageRejected:
                continue
            book.apply(result, [share])
            accepted += 1
    assert accepted == 6 and book.balances["pool"].amount == Decimal("-100")


def test_a_threshold_is_crossed_when_the_total_passes_its_level_upwards():
    eighty, hundred = Threshold("percent", Decimal(80)), Threshold("percent", Decimal(100))
    assert crossed([eighty, hundred], Decimal(100), Decimal("79.99"), Decimal("85")) == [(eighty, Decimal("80"))]
    assert crossed([eighty, hundred], Decimal(100), Decimal("85"), Decimal("86")) == []
    assert crossed([Threshold("amount", Decimal(50))], Decimal(100), Decimal(0), Decimal(50))[0][1] == Decimal(50)


def test_a_tariff_finds_the_same_rate_row_as_the_rate_table_whatever_values_it_saw_before():
    rows = ({"key": {"zone": "home", "roaming": "true"}, "pricePerUnit": "0.01", "unitSize": "1", "rounding": "up"},
            {"key": {"zone": "5", "roaming": "*"}, "pricePerUnit": "0.02", "unitSize": "10", "rounding": "up"},
            {"key": {"zone": "*", "roaming": "false"}, "pricePerUnit": "0.03", "unitSize": "1", "rounding": "down"},
            {"key": {"apn": "internet"}, "pricePerUnit": "0.04", "unitSize": "1", "rounding": "up"})
    tariff = Tariff("DATA", 1, "MB", "EUR", rows, ("zone", "roaming"))
    rng = random.Random(9)
    for _ in range(2_000):  # twice and more per combination: found once, then remembered
        fields = {name: rng.choice(choices) for name, choices in (
            ("zone", ["home", "eu", "5", 5, None]), ("roaming", [True, False, "true", "x"]),
            ("apn", ["internet", "ims"])) if rng.random() < 0.8}
        expected = find_rate(rows, fields)
        priced = tariff.priced_row(fields)
        if expected is None:
            assert priced is None, fields
        else:
            assert priced == (expected, Decimal(expected["unitSize"]), Decimal(expected["pricePerUnit"])), fields
