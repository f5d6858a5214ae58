from datetime import UTC, date, datetime

import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from customer.domain import model


def test_a_valid_card_number_is_recognised_with_spaces_or_dashes():
    assert model.looks_like_card_number("4111 1111 1111 1111")
    assert model.looks_like_card_number("5500-0000-0000-0004")
    assert model.looks_like_card_number("my card is 4111111111111111 ok")


def test_digits_that_fail_luhn_or_are_too_short_are_not_card_numbers():
    assert not model.looks_like_card_number("4111111111111112")
    assert not model.looks_like_card_number("123456789012")


def test_an_iban_and_an_international_phone_number_are_not_card_numbers():
    assert not model.looks_like_card_number("DE89 3704 0044 0532 0130 00")
    assert not model.looks_like_card_number("+49 4111 1111 1111 1111")


def test_refusing_card_numbers_names_every_nested_field():
    payload = {"firstName": "Ann", "paymentInfo": {"creditCard": {"token": "4111111111111111"}},
               "notes": ["fine", "5500 0000 0000 0004"]}
    with pytest.raises(ValidationFailed) as caught:
        model.refuse_card_numbers(payload)
    assert set(caught.value.fields) == {"paymentInfo.creditCard.token", "notes.1"}


def test_an_iban_is_masked_except_its_country_and_last_four():
    assert model.mask_iban("DE89370400440532013000") == "DE****************3000"
    assert model.mask_iban(None) is None


def test_search_fields_hold_lowercase_copies_and_prefixed_trigrams():
    fields = model.search_fields({"first_name": "Ann", "last_name": "Smith", "email": "Ann@X.io",
                                  "address": "Main St 1", "city": "Berlin"})
    assert fields["name_lc"] == "ann smith"
    assert fields["email_lc"] == "ann@x.io"
    assert "n:smi" in fields["grams"] and "c:ber" in fields["grams"] and "e:@x." in fields["grams"]


def test_a_search_query_combines_substring_and_exact_filters():
    query = model.search_query({"name": "Mit", "country": "de", "payment_method": "directDebit"}, "n:mit")
    assert query["name_lc"] == {"$regex": "mit"}
    assert query["grams"] == "n:mit"
    assert query["country"] == "DE"
    assert query["payment_method"] == "directDebit"
    assert query["status"] == {"$in": ["active", "inactive"]}


def test_the_trigrams_with_the_rarest_letters_of_each_text_filter_are_candidates_for_the_index():
    assert model.text_grams({"name": "Zoe Durand", "city": "ab", "email": "x@y.io"}) == [
        "n:zoe", "n:dur", "e:x@y", "e:y.i"]


def test_a_short_or_special_text_filter_is_escaped_and_uses_no_trigrams():
    query = model.search_query({"email": "a.", "status": "closed"})
    assert query["email_lc"] == {"$regex": "a\\."}
    assert "grams" not in query
    assert query["status"] == "closed"


def _contact(tag):
    return {"tag": tag, "first_name": "A", "last_name": "B"}


def test_a_contact_tag_must_be_unique_per_customer():
    contacts = [_contact("primary")]
    assert len(model.add_contact(contacts, _contact("billing"))) == 2
    with pytest.raises(ValidationFailed) as caught:
        model.add_contact(contacts, _contact("primary"))
    assert "tag" in caught.value.fields


def test_renaming_a_contact_to_a_used_tag_is_refused():
    contacts = [_contact("primary"), _contact("billing")]
    with pytest.raises(ValidationFailed):
        model.edit_contact(contacts, "billing", {"tag": "primary"})
    assert model.edit_contact(contacts, "billing", {"first_name": "Z"})[1]["first_name"] == "Z"


def test_the_last_contact_cannot_be_deleted_and_an_unknown_tag_is_not_found():
    with pytest.raises(Conflict):
        model.delete_contact([_contact("primary")], "primary")
    with pytest.raises(NotFound):
        model.delete_contact([_contact("primary"), _contact("x")], "nope")
    assert model.delete_contact([_contact("primary"), _contact("x")], "primary") == [_contact("x")]


def test_a_closed_account_cannot_be_changed():
    with pytest.raises(Conflict):
        model.ensure_open("closed", 7)
    model.ensure_open("active", 7)


def test_purge_is_due_after_the_retention_period():
    closed = datetime(2026, 1, 31, tzinfo=UTC)
    assert model.purge_after(closed, 30) == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_mandate_signed_tomorrow_is_in_the_future():
    assert model.mandate_signed_in_future(date(2026, 5, 2), date(2026, 5, 1))
    assert not model.mandate_signed_in_future(date(2026, 5, 1), date(2026, 5, 1))
