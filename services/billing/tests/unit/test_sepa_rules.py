"""SEPA direct debit rules: mandates, sequence types, blocks, end-to-end ids, creditor ids."""
from datetime import date
from decimal import Decimal

import pytest

from billing.config import parse_schedule
from billing.domain.sepa import (
    Collection,
    Mandate,
    SequenceType,
    check_creditor_id,
    check_mandate,
    collection_date,
    end_to_end_id,
    payment_blocks,
    sequence_type,
)
from chassis.errors import ValidationFailed

MANDATE = Mandate("MANDATE-1", date(2025, 1, 10), "DE02120300000000202051", "BYLADEM1001", "Ada Lovelace")


def test_a_mandates_first_collection_is_frst_and_every_later_one_rcur():
    assert sequence_type(mandate_used_before=False) is SequenceType.FIRST
    assert sequence_type(mandate_used_before=True) is SequenceType.RECURRING


def test_a_direct_debit_customer_without_a_mandate_is_refused_naming_the_mandate():
    with pytest.raises(ValidationFailed) as refused:
        check_mandate(None, date(2026, 3, 1))
    assert "paymentInfo.directDebit.mandateId" in refused.value.fields


def test_a_mandate_signed_in_the_future_is_refused_naming_the_signature_date():
    with pytest.raises(ValidationFailed) as refused:
        check_mandate(MANDATE, date(2025, 1, 9))
    assert "paymentInfo.directDebit.signedOn" in refused.value.fields


def test_a_mandate_signed_on_the_day_of_collection_is_valid():
    assert check_mandate(MANDATE, date(2025, 1, 10)) is MANDATE


def item(e2e: str, seq: SequenceType, when: date) -> Collection:
    return Collection(e2e, e2e, e2e, Decimal("1.00"), MANDATE, seq, when)


def test_one_payment_information_block_per_sequence_type_and_collection_date():
    d1, d2 = date(2026, 3, 3), date(2026, 3, 4)
    blocks = payment_blocks([item("a", SequenceType.RECURRING, d1), item("b", SequenceType.FIRST, d1),
                             item("c", SequenceType.RECURRING, d1), item("d", SequenceType.RECURRING, d2)])
    assert [(key, [c.end_to_end_id for c in items]) for key, items in blocks] == [
        ((SequenceType.FIRST, d1), ["b"]), ((SequenceType.RECURRING, d1), ["a", "c"]),
        ((SequenceType.RECURRING, d2), ["d"])]


def test_end_to_end_ids_name_the_invoice_and_the_file_within_35_allowed_characters():
    assert end_to_end_id("INV-2026-000042", 7) == "INV-2026-000042/F7"
    long = end_to_end_id("INV_" + "9" * 60 + "_x", 123)
    assert len(long) == 35 and long.endswith("/F123") and "_" not in long


def test_collection_dates_skip_weekends():
    assert collection_date(date(2026, 3, 5), 2) == date(2026, 3, 9)   # Thursday + 2 = Saturday -> Monday
    assert collection_date(date(2026, 3, 2), 2) == date(2026, 3, 4)


def test_creditor_identifiers_are_checked_by_their_check_digits():
    assert check_creditor_id("DE98ZZZ09999999999") == "DE98ZZZ09999999999"
    with pytest.raises(ValueError):
        check_creditor_id("DE97ZZZ09999999999")


def test_retry_schedules_read_as_durations():
    assert [d.total_seconds() for d in parse_schedule("30m, 6h,1d")] == [1800, 21600, 86400]
    with pytest.raises(ValueError):
        parse_schedule("1w")
