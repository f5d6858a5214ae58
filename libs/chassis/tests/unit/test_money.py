import random
from decimal import Decimal

import pytest
from bson.decimal128 import Decimal128

from chassis import money


def test_floats_are_refused_because_they_cannot_hold_cents_exactly():
    with pytest.raises(money.MoneyError, match="not floats"):
        money.to_decimal(0.1)


@pytest.mark.parametrize("raw", ["abc", "", "NaN", "Infinity", None])
def test_garbage_and_non_finite_amounts_are_refused(raw):
    with pytest.raises(money.MoneyError):
        money.to_decimal(raw)


def test_strings_integers_and_decimal128_become_decimals():
    assert money.to_decimal("10.05") == Decimal("10.05")
    assert money.to_decimal(3) == Decimal(3)
    assert money.to_decimal(Decimal128("1.10")) == Decimal("1.10")


def test_wire_and_storage_forms_keep_every_digit():
    amount = Decimal("1234567890.123456")
    assert money.to_wire(amount) == "1234567890.123456"
    assert money.to_storage(amount).to_decimal() == amount
    assert money.to_wire(Decimal("1E+2")) == "100"


STORED_SAMPLES = ["0", "-0", "1", "1.0", "1.23", "-5120", "0.000001", "-7.500000", "100E-2", "0E-7", "-0.00",
                  "1E+10", "1E-100", "9" * 34, "1234567890123456789012345678901234E-40", "1E6111", "1E-6176",
                  # beyond the direct form: bson's own conversion (rounding, clamping) decides
                  "12345678901234567890123456789012345", "1E6112", "NaN", "Infinity", "-Infinity"]


@pytest.mark.parametrize("text", STORED_SAMPLES)
def test_storage_conversions_match_bsons_bit_for_bit_and_keep_trailing_zeros(text):
    amount = Decimal(text)
    try:
        expected = Decimal128(amount)
    except Exception as refused:  # bson refuses what Decimal128 cannot hold exactly; so do we
        with pytest.raises(type(refused)):
            money.to_storage(amount)
        return
    assert money.to_storage(amount).bid == expected.bid
    assert money.to_storage(amount).bid == expected.bid  # a second time, from the cache of stored amounts
    assert str(money.from_storage(expected)) == str(expected.to_decimal())


def test_equal_amounts_written_differently_are_stored_as_written():
    assert money.from_storage(money.to_storage(Decimal("1"))) == 1
    assert str(money.from_storage(money.to_storage(Decimal("1.00")))) == "1.00"
    assert str(money.from_storage(money.to_storage(Decimal("1")))) == "1"


def _same_decimal(ours: Decimal, bsons: Decimal) -> bool:
    # Equal text keeps the sign of zero, trailing zeros and the exponent; NaN never equals itself.
    return str(ours) == str(bsons) and ours.is_signed() == bsons.is_signed()


def _random_bits(rng: random.Random) -> tuple[int, int]:
    """A Decimal128 as (high, low): canonical values of every size and exponent, and the special and
    non-canonical encodings (coefficients over 34 digits, the long-coefficient form, NaN, infinity)."""
    kind = rng.randrange(6)
    sign = rng.getrandbits(1) << 63
    if kind == 0:  # any bits at all
        return rng.getrandbits(64), rng.getrandbits(64)
    if kind == 1:  # combination bits 11: the long-coefficient form, NaN (sNaN) and infinity
        return sign | (0b11 << 61) | rng.getrandbits(61), rng.getrandbits(64)
    digits = rng.choice([0, 1, 2, 6, 12, 20, 33, 34, 35])
    coefficient = rng.randrange(10 ** digits) if digits else 0
    if kind == 2:  # small exponents, as amounts are
        exponent = rng.randrange(-12, 4)
    elif kind == 3:  # the extremes of the exponent
        exponent = rng.choice([-6176, -6175, 6110, 6111])
    else:
        exponent = rng.randrange(-6176, 6112)
    coefficient &= (1 << 113) - 1
    return sign | ((exponent + 6176) << 49) | (coefficient >> 64), coefficient & ((1 << 64) - 1)


def test_reading_any_stored_bits_gives_what_bson_gives_twice_over():
    rng = random.Random(20261129)
    for _ in range(20_000):
        stored = Decimal128(_random_bits(rng))
        expected = stored.to_decimal()
        first, again = money.from_storage(stored), money.from_storage(stored)  # again: from the cache of read ones
        assert _same_decimal(first, expected), (stored.bid.hex(), first, expected)
        assert _same_decimal(again, expected), (stored.bid.hex(), again, expected)


def test_storing_random_amounts_gives_bsons_bits_and_reads_back_as_written():
    rng = random.Random(2026)
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 36)))
        exponent = rng.choice([rng.randrange(-20, 5), rng.randrange(-6200, 6150)])
        amount = Decimal(f"{rng.choice(['', '-'])}{digits}E{exponent}")
        try:
            expected = Decimal128(amount)
        except Exception as refused:
            with pytest.raises(type(refused)):
                money.to_storage(amount)
            continue
        assert money.to_storage(amount).bid == expected.bid, amount
        assert _same_decimal(money.from_storage(money.to_storage(amount)), expected.to_decimal()), amount


def test_a_stored_amount_is_shown_normalised_in_plain_notation_as_before():
    rng = random.Random(11)
    samples = [Decimal128(text) for text in ("1.50", "-0.00", "0E-7", "1E+2", "-7.500000", "9" * 34, "NaN")]
    samples += [Decimal128(_random_bits(rng)) for _ in range(5_000)]
    for stored in samples:
        try:
            expected = format(stored.to_decimal().normalize(), "f")
        except ArithmeticError as refused:  # beyond the default context (an exponent of thousands): as before
            with pytest.raises(type(refused)):
                money.shown_from_storage(stored)
            continue
        assert money.shown_from_storage(stored) == expected
        assert money.shown_from_storage(stored) == expected  # from the cache of shown ones
    assert money.shown_from_storage(Decimal128("1.50")) == "1.5"
    assert money.shown_from_storage(Decimal128("-0.00")) == "-0"


def test_a_stored_amount_encodes_copies_and_pickles_as_a_plain_decimal128():
    import copy
    import pickle

    import bson

    for text in ("57", "0.01", "-5120", "1.10"):
        stored, plain = money.to_storage(Decimal(text)), Decimal128(text)
        assert bson.encode({"a": stored, "b": [stored]}) == bson.encode({"a": plain, "b": [plain]})
        assert stored == plain and str(stored) == str(plain) and repr(stored) == repr(plain)
        for twin in (copy.copy(stored), copy.deepcopy({"a": stored})["a"], pickle.loads(pickle.dumps(stored))):
            assert twin == plain and twin.bid == plain.bid
