"""SEPA direct debit rules, free of I/O: mandates, sequence types, payment-information
blocks and end-to-end ids (EPC SDD Core rulebook)."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from chassis.errors import ValidationFailed

SEPA_CURRENCY = "EUR"
MAX_ID = 35
# The EPC's "SEPA basic Latin" subset for identifiers: anything else is replaced.
_NOT_ID_CHAR = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_CREDITOR_ID = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$")


class SequenceType(StrEnum):
    FIRST = "FRST"
    RECURRING = "RCUR"


class Pain008Version(StrEnum):
    V02 = "pain.008.001.02"
    V08 = "pain.008.001.08"


@dataclass(frozen=True)
class Creditor:
    """Who collects: from configuration (settings, chart values and a Secret)."""

    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Mandate:
    mandate_id: str
    signed_on: date
    iban: str
    bic: str | None
    debtor_name: str


@dataclass(frozen=True)
class Collection:
    """One invoice to collect in a file."""

    end_to_end_id: str
    invoice_id: str
    invoice_number: str
    amount: Decimal
    mandate: Mandate
    sequence_type: SequenceType
    collection_date: date


def check_mandate(mandate: Mandate | None, today: date) -> Mandate:
    """A direct-debit customer needs a mandate signed on or before the collection is prepared."""
    if mandate is None or not mandate.mandate_id:
        raise ValidationFailed("the customer pays by direct debit but has no SEPA mandate",
                               {"paymentInfo.directDebit.mandateId": "missing"})
    if mandate.signed_on > today:
        raise ValidationFailed(f"mandate {mandate.mandate_id} is signed in the future ({mandate.signed_on})",
                               {"paymentInfo.directDebit.signedOn": "is in the future"})
    if not mandate.iban:
        raise ValidationFailed("the mandate has no IBAN", {"paymentInfo.directDebit.iban": "missing"})
    return mandate


def sequence_type(mandate_used_before: bool) -> SequenceType:
    """FRST for a mandate's first collection, RCUR for every later one."""
    return SequenceType.RECURRING if mandate_used_before else SequenceType.FIRST


def collection_date(as_of: date, lead_days: int) -> date:
    """The requested collection date: `lead_days` days after the file is made, moved off weekends
    (TARGET2 is closed on Saturdays and Sundays)."""
    day = as_of + timedelta(days=lead_days)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def sepa_id(text: str) -> str:
    """An identifier the scheme accepts: allowed characters only, at most 35 of them."""
    return _NOT_ID_CHAR.sub("-", text)[:MAX_ID]


def end_to_end_id(invoice_number: str, file_number: int) -> str:
    """Unique per invoice and file, so a return names exactly one collection attempt."""
    suffix = f"/F{file_number}"
    return sepa_id(invoice_number)[: MAX_ID - len(suffix)] + suffix


def payment_blocks(collections: list[Collection]) -> list[tuple[tuple[SequenceType, date], list[Collection]]]:
    """One payment-information block per sequence type and collection date, in a stable order."""
    blocks: dict[tuple[SequenceType, date], list[Collection]] = defaultdict(list)
    for item in collections:
        blocks[(item.sequence_type, item.collection_date)].append(item)
    return sorted(blocks.items(), key=lambda kv: (kv[0][1], kv[0][0].value))


def check_creditor_id(creditor_id: str) -> str:
    """The SEPA creditor identifier (e.g. DE98ZZZ09999999999): ISO 7064 mod 97-10 over the national
    part and the country code, the 3-character business code excluded."""
    compact = creditor_id.replace(" ", "").upper()
    if not _CREDITOR_ID.match(compact):
        raise ValueError(f"not a SEPA creditor identifier: {creditor_id!r}")
    digits = "".join(str(int(c, 36)) for c in compact[7:] + compact[:2] + "00")
    if 98 - int(digits) % 97 != int(compact[2:4]):
        raise ValueError(f"wrong check digits in creditor identifier {creditor_id!r}")
    return compact
