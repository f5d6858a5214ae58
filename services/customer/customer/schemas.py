"""Wire schemas (camelCase, as on the HTTP API and RPC)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pycountry
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from chassis.clock import utc_now
from customer.domain.model import CustomerStatus, PaymentMethod, mandate_signed_in_future

_name = validate.Length(min=1, max=100)
_tag = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$", error="1-50 letters, digits, '_', '.', '-'")
_phone = validate.Regexp(r"^\+?[0-9][0-9 ()/.-]{3,28}$", error="Not a valid phone number.")


class CountryCode(fields.String):
    """ISO 3166-1 alpha-2, stored upper-case."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


class BankCode(fields.String):
    """An IBAN or a BIC, validated and normalised (compact, upper-case) by schwifty."""

    def __init__(self, kind: type[IBAN] | type[BIC], **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        try:
            return str(self.kind(super()._deserialize(value, attr, data, **kwargs)).compact)
        except SchwiftyException as exc:
            raise ValidationError(f"Not a valid {self.kind.__name__}: {exc}") from exc


class AddressFields(Schema):
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    state = fields.String(required=True, validate=validate.Length(min=1, max=100))
    country = CountryCode(required=True)
    zip = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))


class ContactFields(AddressFields):
    first_name = fields.String(required=True, data_key="firstName", validate=_name)
    last_name = fields.String(required=True, data_key="lastName", validate=_name)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(required=True, validate=_phone)
    organization = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ContactSchema(ContactFields):
    tag = fields.String(required=True, validate=_tag)


class CreditCardSchema(Schema):
    holder_name = fields.String(required=True, data_key="holderName", validate=validate.Length(min=1, max=200))
    holder_email = fields.Email(load_default=None, allow_none=True, data_key="holderEmail")
    gateway = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


def _not_in_future(signed_on: date) -> None:
    if mandate_signed_in_future(signed_on, utc_now().date()):
        raise ValidationError("A mandate cannot be signed in the future.")


class DirectDebitSchema(Schema):
    mandate_id = fields.String(required=True, data_key="mandateId", validate=validate.Length(min=1, max=35))
    signed_on = fields.Date(required=True, data_key="signedOn", validate=lambda signed: _not_in_future(signed))
    bic = BankCode(BIC, required=True)
    iban = BankCode(IBAN, required=True)


class PaymentInfoSchema(Schema):
    method = fields.Enum(PaymentMethod, by_value=True, required=True)
    credit_card = fields.Nested(CreditCardSchema, load_default=None, allow_none=True, data_key="creditCard")
    direct_debit = fields.Nested(DirectDebitSchema, load_default=None, allow_none=True, data_key="directDebit")
    billing_address = fields.Nested(AddressFields, load_default=None, allow_none=True, data_key="billingAddress")
    tax_id = fields.String(load_default=None, allow_none=True, data_key="taxId", validate=validate.Length(max=50))

    @validates_schema
    def _details_match_method(self, data: dict[str, Any], **kwargs: Any) -> None:
        method = data.get("method")
        needed = {PaymentMethod.CREDIT_CARD: ("credit_card", "creditCard"),
                  PaymentMethod.DIRECT_DEBIT: ("direct_debit", "directDebit")}
        errors: dict[str, str] = {}
        for candidate, (attr, key) in needed.items():
            if method == candidate and not data.get(attr):
                errors[key] = f"Required when the method is {candidate.value}."
            elif method != candidate and data.get(attr):
                errors[key] = f"Only allowed when the method is {candidate.value}."
        if errors:
            raise ValidationError(errors)


class CustomerCreateSchema(ContactFields):
    customer_type = fields.String(required=True, data_key="customerType", validate=validate.Length(min=1, max=50))
    custom_attributes = fields.Dict(keys=fields.String(), load_default=dict, data_key="customAttributes")
    payment_info = fields.Nested(PaymentInfoSchema, load_default=None, allow_none=True, data_key="paymentInfo")
    tag = fields.String(load_default="primary", validate=_tag)


class AccountPatchSchema(Schema):
    """Account information: only the type and the custom attributes can be edited."""

    customer_type = fields.String(data_key="customerType", validate=validate.Length(min=1, max=50))
    custom_attributes = fields.Dict(keys=fields.String(), data_key="customAttributes", allow_none=True)


class SearchFiltersSchema(Schema):
    name = fields.String(validate=validate.Length(max=200))
    email = fields.String(validate=validate.Length(max=254))
    address = fields.String(validate=validate.Length(max=200))
    city = fields.String(validate=validate.Length(max=100))
    country = CountryCode()
    status = fields.Enum(CustomerStatus, by_value=True)
    customer_type = fields.String(data_key="customerType", validate=validate.Length(max=50))
    payment_method = fields.Enum(PaymentMethod, by_value=True, data_key="paymentMethod")


# -- output ----------------------------------------------------------------------------

class _Out(Schema):
    """Dumps raw MongoDB documents (snake_case keys)."""


class AddressOut(_Out):
    address = fields.String()
    city = fields.String()
    state = fields.String()
    country = fields.String()
    zip = fields.String(allow_none=True)


class ContactOut(AddressOut):
    tag = fields.String()
    first_name = fields.String(data_key="firstName")
    last_name = fields.String(data_key="lastName")
    email = fields.String()
    phone = fields.String()
    organization = fields.String(allow_none=True)


class CreditCardOut(_Out):
    holder_name = fields.String(data_key="holderName")
    holder_email = fields.String(data_key="holderEmail", allow_none=True)
    gateway = fields.String(allow_none=True)
    token = fields.String()


class DirectDebitOut(_Out):
    mandate_id = fields.String(data_key="mandateId")
    signed_on = fields.Function(lambda dd: dd["signed_on"].date().isoformat(), data_key="signedOn")
    bic = fields.String()
    iban = fields.String()


class PaymentInfoOut(_Out):
    method = fields.String()
    credit_card = fields.Nested(CreditCardOut, data_key="creditCard", allow_none=True)
    direct_debit = fields.Nested(DirectDebitOut, data_key="directDebit", allow_none=True)
    billing_address = fields.Nested(AddressOut, data_key="billingAddress")
    billing_address_is_customer_address = fields.Boolean(data_key="billingAddressIsCustomerAddress")
    tax_id = fields.String(data_key="taxId", allow_none=True)


class CustomerOut(_Out):
    """TMF629-flavoured customer: the primary contact's details at the top level."""

    id = fields.Integer(attribute="_id")
    first_name = fields.String(data_key="firstName")
    last_name = fields.String(data_key="lastName")
    name = fields.Function(lambda c: f"{c['first_name']} {c['last_name']}")
    email = fields.String()
    phone = fields.Function(lambda c: c["contacts"][0]["phone"])
    organization = fields.Function(lambda c: c["contacts"][0].get("organization"))
    address = fields.Function(lambda c: c["contacts"][0]["address"])
    city = fields.Function(lambda c: c["contacts"][0]["city"])
    state = fields.Function(lambda c: c["contacts"][0]["state"])
    country = fields.String()
    zip = fields.Function(lambda c: c["contacts"][0].get("zip"))
    customer_type = fields.String(data_key="customerType")
    custom_attributes = fields.Dict(data_key="customAttributes")
    status = fields.String()
    contacts = fields.List(fields.Nested(ContactOut))
    payment_info = fields.Method("_payment_info", data_key="paymentInfo")
    subscription_count = fields.Integer(data_key="subscriptionCount")
    service_count = fields.Integer(data_key="serviceCount")
    closed_at = fields.AwareDateTime(data_key="closedAt", allow_none=True)
    purge_after = fields.AwareDateTime(data_key="purgeAfter", allow_none=True)
    created_at = fields.AwareDateTime(data_key="createdAt")
    updated_at = fields.AwareDateTime(data_key="updatedAt")

    def _payment_info(self, customer: dict[str, Any]) -> dict[str, Any] | None:
        return payment_info_out(customer)


def payment_info_out(customer: dict[str, Any]) -> dict[str, Any] | None:
    info = customer.get("payment_info")
    if not info:
        return None
    own = customer["contacts"][0]
    effective = {**info, "billing_address": info.get("billing_address") or {k: own.get(k) for k in
                                                                           ("address", "city", "state", "country",
                                                                            "zip")},
                 "billing_address_is_customer_address": not info.get("billing_address")}
    return PaymentInfoOut().dump(effective)
