import pytest
from marshmallow import ValidationError

from customer.domain.model import full_name
from customer.schemas import CustomerCreateSchema

ADA = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
       "address": "12 St James's Square", "city": "London", "state": "LND", "country": "GB",
       "customerType": "regular"}


def test_a_valid_new_customer_loads_into_snake_case():
    data = CustomerCreateSchema().load(ADA)
    assert data == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                    "phone": "+44 20 7946 0000", "address": "12 St James's Square", "city": "London",
                    "state": "LND", "country": "GB", "customer_type": "regular", "organization": None,
                    "zip": None, "tag": "primary", "custom_attributes": {}, "payment_info": None}


@pytest.mark.parametrize(
    "payload,field",
    [({**ADA, "email": "not-an-email"}, "email"),
     ({k: v for k, v in ADA.items() if k != "firstName"}, "firstName"),
     ({**ADA, "firstName": ""}, "firstName"),
     ({**ADA, "lastName": "B" * 101}, "lastName")],
)
def test_invalid_input_names_the_field(payload, field):
    with pytest.raises(ValidationError) as caught:
        CustomerCreateSchema().load(payload)
    assert field in caught.value.messages


def test_full_name_ignores_blank_parts():
    assert full_name(" Ada ", "Lovelace") == "Ada Lovelace"
    assert full_name("Ada", "") == "Ada"
