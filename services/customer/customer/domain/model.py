"""Customer rules, free of I/O."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from chassis.errors import Conflict, NotFound, ValidationFailed


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


class PaymentMethod(StrEnum):
    INVOICE = "invoice"
    CREDIT_CARD = "creditCard"
    DIRECT_DEBIT = "directDebit"


CUSTOMER_SEQUENCE = "customer"
PRIMARY_TAG = "primary"
# What the list shows when no status is asked for: "all active and inactive customers".
LISTED_STATUSES = (CustomerStatus.ACTIVE.value, CustomerStatus.INACTIVE.value)
TEXT_FILTERS = ("name", "email", "address", "city")
MIN_GRAM = 3


def full_name(first_name: str, last_name: str) -> str:
    return " ".join(part.strip() for part in (first_name, last_name) if part and part.strip())


# -- card numbers -----------------------------------------------------------------

_CARD_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    """13-19 digits (spaces and dashes ignored) that pass the Luhn check.

    A value in international phone notation (leading '+') is a phone number,
    not a card: exempt, or roughly one phone number in ten would be refused.
    """
    if value.lstrip().startswith("+"):
        return False
    compact = re.sub(r"[\s-]", "", value)
    return any(luhn_valid(run) for run in _CARD_RUN.findall(compact))


def card_number_fields(payload: Any, path: str = "") -> list[str]:
    """Dotted names of every string in `payload` that looks like a card number."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            found.extend(card_number_fields(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found.extend(card_number_fields(value, f"{path}.{index}" if path else str(index)))
    elif isinstance(payload, str) and looks_like_card_number(payload):
        found.append(path or "_schema")
    return found


def refuse_card_numbers(payload: Any, prefix: str = "") -> None:
    """We never store card numbers: refuse any input carrying one, naming the field."""
    fields = card_number_fields(payload, prefix)
    if fields:
        raise ValidationFailed(
            "Card numbers are never accepted; store the payment gateway's token instead",
            {name: "looks like a card number" for name in fields},
        )


# -- IBAN masking --------------------------------------------------------------------

def mask_iban(iban: str | None) -> str | None:
    """Country code and the last four characters only, as in lists and exports."""
    if not iban:
        return iban
    compact = iban.replace(" ", "")
    return f"{compact[:2]}{'*' * max(len(compact) - 6, 0)}{compact[-4:]}"


# -- search ------------------------------------------------------------------------

def normalise(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def trigrams(text: str) -> set[str]:
    text = normalise(text)
    return {text[i : i + MIN_GRAM] for i in range(len(text) - MIN_GRAM + 1)}


def search_fields(contact: dict[str, Any]) -> dict[str, Any]:
    """Lower-case copies of the searchable text and their trigrams, prefixed by field
    (`n:` name, `e:` email, `a:` address, `c:` city), so one multikey index serves
    a substring search on any of them (see docs/decisions/0302)."""
    texts = {
        "name": normalise(full_name(contact.get("first_name", ""), contact.get("last_name", ""))),
        "email": normalise(contact.get("email")),
        "address": normalise(contact.get("address")),
        "city": normalise(contact.get("city")),
    }
    grams = sorted(f"{key[0]}:{gram}" for key, text in texts.items() for gram in trigrams(text))
    return {"name_lc": texts["name"], "email_lc": texts["email"], "address_lc": texts["address"],
            "city_lc": texts["city"], "grams": grams}


# Rough letter frequencies in European names and addresses (most common first); anything else
# (digits, accented letters) counts as rare, separators as very common.
_COMMON = "eainrtoslducmhgkbvzpfwjyxq"
_SEPARATORS = " .@-_"


def _commonness(gram: str) -> int:
    return sum(100 if char in _SEPARATORS else len(_COMMON) - _COMMON.index(char) if char in _COMMON else 0
               for char in gram)


def text_grams(filters: dict[str, Any], per_field: int = 2) -> list[str]:
    """Candidate trigrams to narrow a text search through the index: per text filter, the
    `per_field` made of the rarest letters (texts shorter than a trigram have none)."""
    grams: list[str] = []
    for key in TEXT_FILTERS:
        ranked = sorted(trigrams(filters.get(key) or ""), key=lambda gram: (_commonness(gram), gram))
        grams.extend(f"{key[0]}:{gram}" for gram in ranked[:per_field])
    return grams


def search_query(filters: dict[str, Any], gram: str | None = None) -> dict[str, Any]:
    """The MongoDB filter for the customer list (filters already validated, snake_case keys).

    `gram`: one of `text_grams(filters)`, the most selective one, which narrows the candidates
    through the trigram index; the regexes keep only true substrings.
    """
    query: dict[str, Any] = {}
    if gram:
        query["grams"] = gram
    for key in TEXT_FILTERS:
        text = normalise(filters.get(key))
        if text:
            query[f"{key}_lc"] = {"$regex": re.escape(text)}
    if filters.get("country"):
        query["country"] = filters["country"].upper()
    if filters.get("status"):
        query["status"] = filters["status"]
    else:
        query["status"] = {"$in": list(LISTED_STATUSES)}
    if filters.get("customer_type"):
        query["customer_type"] = filters["customer_type"]
    if filters.get("payment_method"):
        query["payment_method"] = filters["payment_method"]
    return query


# -- contacts ------------------------------------------------------------------------

def find_contact(contacts: list[dict[str, Any]], tag: str) -> int:
    for index, contact in enumerate(contacts):
        if contact["tag"] == tag:
            return index
    raise NotFound(f"no contact tagged {tag!r}")


def add_contact(contacts: list[dict[str, Any]], contact: dict[str, Any]) -> list[dict[str, Any]]:
    if any(existing["tag"] == contact["tag"] for existing in contacts):
        raise ValidationFailed("Contact tags are unique per customer", {"tag": f"{contact['tag']!r} is already used"})
    return [*contacts, contact]


def edit_contact(contacts: list[dict[str, Any]], tag: str, changes: dict[str, Any]) -> list[dict[str, Any]]:
    index = find_contact(contacts, tag)
    new_tag = changes.get("tag", tag)
    if new_tag != tag and any(existing["tag"] == new_tag for existing in contacts):
        raise ValidationFailed("Contact tags are unique per customer", {"tag": f"{new_tag!r} is already used"})
    updated = list(contacts)
    updated[index] = {**contacts[index], **changes}
    return updated


def delete_contact(contacts: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    index = find_contact(contacts, tag)
    if len(contacts) == 1:
        raise Conflict("The last contact of a customer cannot be deleted")
    return contacts[:index] + contacts[index + 1 :]


# -- closing -------------------------------------------------------------------------

def ensure_open(status: str, customer_id: int) -> None:
    if status == CustomerStatus.CLOSED:
        raise Conflict(f"customer {customer_id} is closed; a closed account cannot be changed")


def purge_after(closed_at: datetime, retention_days: int) -> datetime:
    return closed_at + timedelta(days=retention_days)


def mandate_signed_in_future(signed_on: date, today: date) -> bool:
    return signed_on > today
