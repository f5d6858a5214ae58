"""MongoDB documents of the customer service.

Reads on the hot paths (search, export) go through the collection with pymongo
and projections; the documents declare the shape, validation and indexes.
"""
from __future__ import annotations

import mongoengine as me

from chassis.clock import utc_now
from customer.domain.model import CustomerStatus, PaymentMethod


class _Place(me.EmbeddedDocument):
    meta = {"abstract": True}

    address = me.StringField(required=True, max_length=200)
    city = me.StringField(required=True, max_length=100)
    state = me.StringField(required=True, max_length=100)
    country = me.StringField(required=True, min_length=2, max_length=2)
    zip = me.StringField(null=True, max_length=20)


class Address(_Place):
    pass


class Contact(_Place):
    tag = me.StringField(required=True, max_length=50)
    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.EmailField(required=True, max_length=254)
    phone = me.StringField(required=True, max_length=30)
    organization = me.StringField(null=True, max_length=200)


class CreditCard(me.EmbeddedDocument):
    """The card's owner and the payment gateway's token: never the card number."""

    holder_name = me.StringField(required=True, max_length=200)
    holder_email = me.EmailField(null=True, max_length=254)
    gateway = me.StringField(null=True, max_length=50)
    token = me.StringField(required=True, max_length=200)


class DirectDebit(me.EmbeddedDocument):
    mandate_id = me.StringField(required=True, max_length=35)
    signed_on = me.DateTimeField(required=True)
    bic = me.StringField(required=True, max_length=11)
    iban = me.StringField(required=True, max_length=34)


class PaymentInfo(me.EmbeddedDocument):
    method = me.EnumField(PaymentMethod, required=True)
    credit_card = me.EmbeddedDocumentField(CreditCard, null=True)
    direct_debit = me.EmbeddedDocumentField(DirectDebit, null=True)
    # None: the customer's own address is the billing address.
    billing_address = me.EmbeddedDocumentField(Address, null=True)
    tax_id = me.StringField(null=True, max_length=50)


class CustomerDocument(me.Document):
    """One account. The first contact is the primary one; its name, email, address,
    city and country are copied to the top level (and lower-cased for search)."""

    meta = {
        "collection": "customers",
        "indexes": [
            # The list's filters (docs/decisions/0302): status is in every query, so it ends each
            # compound index and counts are answered from the index alone.
            "grams",
            ("status", "id"),
            ("country", "status", "id"),
            ("customer_type", "payment_method", "status", "id"),
            ("payment_method", "status", "id"),
            ("name_lc", "status"),
            ("email_lc", "status"),
            ("city_lc", "status"),
            ("address_lc", "status"),
            {"fields": ["purge_after"], "partialFilterExpression": {"status": "closed"}},
            # A caller's request id makes a create idempotent (sagas retry and compensate by it).
            {"fields": ["request_id"], "unique": True, "partialFilterExpression": {"request_id": {"$type": "string"}}},
        ],
    }

    id = me.IntField(primary_key=True)
    request_id = me.StringField(null=True, max_length=100)
    first_name = me.StringField(required=True, max_length=100)
    last_name = me.StringField(required=True, max_length=100)
    email = me.EmailField(required=True, max_length=254)
    country = me.StringField(required=True, min_length=2, max_length=2)
    customer_type = me.StringField(required=True, max_length=50)
    custom_attributes = me.DictField()
    status = me.EnumField(CustomerStatus, default=CustomerStatus.ACTIVE, required=True)
    contacts = me.EmbeddedDocumentListField(Contact, required=True)
    payment_info = me.EmbeddedDocumentField(PaymentInfo, null=True)
    payment_method = me.EnumField(PaymentMethod, null=True)
    subscription_count = me.IntField(default=0, min_value=0)
    service_count = me.IntField(default=0, min_value=0)
    counted_events = me.ListField(me.StringField())  # the last events the counters applied (idempotency)
    # search copies (see customer.domain.model.search_fields)
    name_lc = me.StringField(required=True)
    email_lc = me.StringField(required=True)
    address_lc = me.StringField(required=True)
    city_lc = me.StringField(required=True)
    grams = me.ListField(me.StringField())
    closed_at = me.DateTimeField(null=True)
    purge_after = me.DateTimeField(null=True)
    created_at = me.DateTimeField(required=True, default=utc_now)
    updated_at = me.DateTimeField(required=True, default=utc_now)


ALL_DOCUMENTS: list[type[me.Document]] = [CustomerDocument]
