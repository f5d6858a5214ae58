"""MongoDB documents of payments (TMF676), card charge attempts and SEPA files.

Invoices themselves belong to the billing documents; payments change an invoice only through
`billing.adapters.invoice_ledger`.
"""
from __future__ import annotations

import mongoengine as me

from billing.domain.payments import Direction, PaymentMethod
from chassis.clock import utc_now


class Payment(me.Document):
    """One charge or refund allocated to one invoice (offline, provider, SEPA or credit balance)."""

    meta = {"collection": "payments", "indexes": ["invoice_id", "customer_id", "billing_profile_id"]}

    id = me.StringField(primary_key=True)
    invoice_id = me.StringField(required=True)
    invoice_number = me.StringField()
    customer_id = me.IntField(required=True)
    billing_profile_id = me.StringField(required=True)
    direction = me.EnumField(Direction, required=True)
    amount = me.Decimal128Field(required=True, precision=6)
    applied = me.Decimal128Field(required=True, precision=6)     # signed: what moved the invoice's due amount
    to_credit = me.Decimal128Field(required=True, precision=6)   # the overpaid part, now credit balance
    currency = me.StringField(required=True)
    method = me.EnumField(PaymentMethod, required=True)
    provider = me.StringField(max_length=50)
    reference = me.StringField(max_length=140)
    note = me.StringField(max_length=500)
    paid_at = me.DateTimeField(required=True)
    created_at = me.DateTimeField(required=True, default=utc_now)


class InvoicePaid(me.Document):
    """What was paid on an invoice (charges minus refunds): the ceiling of a refund."""

    meta = {"collection": "invoice_paid_amounts"}

    id = me.StringField(primary_key=True)  # the invoice id
    paid = me.Decimal128Field(required=True, precision=6)


class PaymentInstrument(me.Document):
    """Billing's copy of a customer's payment information (card token or SEPA mandate), refreshed
    from the customer service whenever `customer.created`/`customer.updated` says it changed."""

    meta = {"collection": "payment_instruments", "indexes": ["method"]}

    id = me.IntField(primary_key=True)  # the customer id
    method = me.StringField(required=True)  # invoice, creditCard, directDebit
    holder_name = me.StringField()
    token = me.StringField()
    mandate_id = me.StringField()
    signed_on = me.DateTimeField()
    iban = me.StringField()
    bic = me.StringField()
    debtor_name = me.StringField()
    refreshed_at = me.DateTimeField(required=True, default=utc_now)


class ChargeAttempt(me.Document):
    """One attempt to charge an invoice through the provider. The idempotency key is fixed when the
    attempt is created, so a retry after a crash or a timeout can never charge twice."""

    meta = {"collection": "charge_attempts",
            "indexes": [{"fields": ["invoice_id", "attempt"], "unique": True}, ("state", "next_attempt_at")]}

    id = me.StringField(primary_key=True)  # the idempotency key
    invoice_id = me.StringField(required=True)
    attempt = me.IntField(required=True, min_value=1)
    source = me.StringField(required=True)  # collection or selfcare
    amount = me.Decimal128Field(required=True, precision=6)
    currency = me.StringField(required=True)
    token = me.StringField(required=True)
    state = me.StringField(required=True)  # pending, approved, declined, unanswered
    provider_reference = me.StringField()
    code = me.StringField()
    message = me.StringField()
    applied = me.BooleanField(required=True, default=False)
    next_attempt_at = me.DateTimeField()
    created_at = me.DateTimeField(required=True, default=utc_now)
    answered_at = me.DateTimeField()


class SepaMandateUse(me.Document):
    """Whether a mandate was collected before: FRST the first time, RCUR after."""

    meta = {"collection": "sepa_mandate_uses"}

    id = me.StringField(primary_key=True)  # the mandate id
    first_end_to_end_id = me.StringField(required=True)


class SepaFile(me.Document):
    meta = {"collection": "sepa_files", "indexes": [{"fields": ["message_id"], "unique": True}, "-created_at",
                                                    {"fields": ["job_id"], "sparse": True}]}

    id = me.StringField(primary_key=True)
    number = me.IntField(required=True)
    message_id = me.StringField(required=True)
    version = me.StringField(required=True)
    created_at = me.DateTimeField(required=True)
    as_of = me.DateTimeField(required=True)
    transactions = me.IntField(required=True)
    total = me.Decimal128Field(required=True, precision=6)
    content_gzip = me.BinaryField(required=True)
    skipped = me.ListField(me.DictField())
    job_id = me.StringField()  # the sepa-export job that wrote it (chassis.jobs)


class SepaTransaction(me.Document):
    """One invoice in one exported file, matched by its end-to-end id when the bank answers."""

    meta = {"collection": "sepa_transactions", "indexes": [
        "file_id",
        # An invoice is in at most one file awaiting the bank's answer ("in collection").
        {"fields": ["invoice_id"], "unique": True, "partialFilterExpression": {"status": "in_collection"}},
    ]}

    id = me.StringField(primary_key=True)  # the end-to-end id
    file_id = me.StringField(required=True)
    invoice_id = me.StringField(required=True)
    invoice_number = me.StringField(required=True)
    customer_id = me.IntField(required=True)
    billing_profile_id = me.StringField(required=True)
    amount = me.Decimal128Field(required=True, precision=6)
    mandate_id = me.StringField(required=True)
    sequence_type = me.StringField(required=True)
    status = me.StringField(required=True)  # in_collection, paid, returned, rejected
    reason_code = me.StringField()
    bank_reference = me.StringField()
    settled_at = me.DateTimeField()


class BankImport(me.Document):
    """An imported bank file (by content hash): importing the same file again returns this report."""

    meta = {"collection": "bank_imports", "indexes": ["-imported_at"]}

    id = me.StringField(primary_key=True)  # sha256 of the file
    kind = me.StringField(required=True)
    message_id = me.StringField(required=True)
    imported_at = me.DateTimeField(required=True)
    report = me.DictField(required=True)


class BankFileContent(me.Document):
    """A bank file kept for its import job (by content hash), so a successor of a crashed worker can
    finish the import; kept afterwards as what the bank sent."""

    meta = {"collection": "bank_files"}

    id = me.StringField(primary_key=True)  # sha256 of the file
    content_gzip = me.BinaryField(required=True)
    received_at = me.DateTimeField(required=True)


PAYMENT_DOCUMENTS: list[type[me.Document]] = [Payment, InvoicePaid, PaymentInstrument, ChargeAttempt,
                                              SepaMandateUse, SepaFile, SepaTransaction, BankImport,
                                              BankFileContent]
