import pytest
from marshmallow import ValidationError

from customer.domain.model import full_name
from customer.schemas import CustomerCreateSchema


def test_a_valid_new_customer_loads_into_snake_case():
    data = CustomerCreateSchema().load({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"})
    assert data == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


@pytest.mark.parametrize(
    "payload,field",
    [({"firstName": "A", "lastName": "B", "email": "not-an-email"}, "email"),
     ({"lastName": "B", "email": "a@b.io"}, "firstName"),
     ({"firstName": "", "lastName": "B", "email": "a@b.io"}, "firstName"),
     ({"firstName": "A", "lastName": "B" * 101, "email": "a@b.io"}, "lastName")],
)
def test_invalid_input_names_the_field(payload, field):
    with pytest.raises(ValidationError) as caught:
        CustomerCreateSchema().load(payload)
    assert field in caught.value.messages


def test_full_name_ignores_blank_parts():
    assert full_name(" Ada ", "Lovelace") == "Ada Lovelace"
    assert full_name("Ada", "") == "Ada"
