"""Wire schemas of billing (camelCase, as on RPC and the HTTP API)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from billing.domain.bills import BillStatus
from billing.domain.hierarchy import GroupStatus
from billing.domain.invoices import InvoiceKind, InvoiceStatus
from billing.domain.lines import ItemKind
from billing.domain.profiles import DEFAULT_PAYMENT_TERMS_DAYS, Interval, PaymentType
from chassis.fields import DecimalString


class BillingProfileCreateSchema(Schema):
    # The caller may choose the id (a saga does, so it can compensate a step whose reply it never got).
    id = fields.UUID(load_default=None)
    customer_id = fields.Integer(required=True, data_key="customerId", strict=True, validate=validate.Range(min=1))
    name = fields.String(load_default="Main billing profile", validate=validate.Length(min=1, max=100))
    payment_type = fields.Enum(PaymentType, by_value=True, required=True, data_key="paymentType")
    resource = fields.String(required=True, validate=validate.Length(min=1, max=32))
    interval = fields.Enum(Interval, by_value=True, required=True)
    billing_day = fields.Integer(required=True, data_key="billingDay", strict=True)
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")
    payment_terms_days = fields.Integer(load_default=DEFAULT_PAYMENT_TERMS_DAYS, data_key="paymentTermsDays",
                                        strict=True, validate=validate.Range(min=0, max=365))


class BillingProfileSchema(Schema):
    id = fields.String()
    customer_id = fields.Integer(data_key="customerId")
    name = fields.String()
    payment_type = fields.Enum(PaymentType, by_value=True, data_key="paymentType")
    resource = fields.String()
    interval = fields.Enum(Interval, by_value=True)
    billing_day = fields.Integer(data_key="billingDay")
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    payment_terms_days = fields.Integer(data_key="paymentTermsDays")
    credit_balance = DecimalString(data_key="creditBalance")
    created_at = fields.AwareDateTime(data_key="createdAt")


class HierarchyGroupCreateSchema(Schema):
    id = fields.UUID(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    owner_customer_id = fields.Integer(required=True, data_key="ownerCustomerId", strict=True,
                                       validate=validate.Range(min=1))
    billing_profile_id = fields.String(required=True, data_key="billingProfileId")
    status = fields.Enum(GroupStatus, by_value=True, load_default=GroupStatus.ACTIVE)
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")


class HierarchyGroupSchema(Schema):
    id = fields.String()
    name = fields.String()
    owner_customer_id = fields.Integer(data_key="ownerCustomerId")
    billing_profile_id = fields.String(data_key="billingProfileId")
    status = fields.Enum(GroupStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)


class HierarchyJoinSchema(Schema):
    id = fields.UUID(load_default=None)
    group_id = fields.String(required=True, data_key="groupId")
    customer_id = fields.Integer(required=True, data_key="customerId", strict=True, validate=validate.Range(min=1))
    valid_from = fields.AwareDateTime(load_default=None, data_key="validFrom")
    valid_to = fields.AwareDateTime(load_default=None, data_key="validTo")


class HierarchyMemberSchema(Schema):
    id = fields.String()
    group_id = fields.String(data_key="groupId")
    customer_id = fields.Integer(data_key="customerId")
    status = fields.Enum(GroupStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
    joined_at = fields.AwareDateTime(data_key="joinedAt")


class TaxInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    supplier = fields.String(load_default=None, validate=validate.Length(max=100))
    gl_code = fields.String(load_default=None, data_key="glCode", validate=validate.Length(max=64))


class AdjustmentSchema(Schema):
    """An adjustment is a new item on the bill, never an edit of another one (seed "Adjusting a bill")."""

    amount = DecimalString(required=True)
    bill_item = fields.String(required=True, data_key="billItem", validate=validate.Length(min=1, max=200),
                              metadata={"description": "What is adjusted: the item's label (or its id)"})
    balance_group_id = fields.String(load_default=None, data_key="balanceGroupId")
    description = fields.String(load_default=None, validate=validate.Length(max=200))
    tax = fields.Nested(TaxInputSchema, load_default=None, allow_none=True)
    gl_code = fields.String(load_default=None, data_key="glCode", validate=validate.Length(max=64))


class BillSchema(Schema):
    id = fields.Integer()
    billing_profile_id = fields.String(data_key="billingProfileId")
    customer_id = fields.Integer(data_key="customerId")
    status = fields.Enum(BillStatus, by_value=True)
    cycle_start = fields.AwareDateTime(data_key="validFrom")
    cycle_end = fields.AwareDateTime(data_key="validTo")
    currency = fields.String()
    charged = DecimalString()
    items = fields.Integer(data_key="itemCount")
    invoice_id = fields.String(data_key="invoiceId", allow_none=True)
    billed_at = fields.AwareDateTime(data_key="billedAt", allow_none=True)
    bill_now = fields.Boolean(data_key="billNow")


class BillItemSchema(Schema):
    id = fields.String()
    bill_id = fields.Integer(data_key="billId")
    kind = fields.Enum(ItemKind, by_value=True)
    description = fields.String()
    amount = DecimalString()
    currency = fields.String()
    balance_group_id = fields.String(data_key="balanceGroupId", allow_none=True)
    resource = fields.String(allow_none=True)
    gl_code = fields.String(data_key="glCode", allow_none=True)
    tax_code = fields.String(data_key="tax", allow_none=True)
    tax_supplier = fields.String(data_key="taxSupplier", allow_none=True)
    service_id = fields.String(data_key="serviceId", allow_none=True)
    service_identifier = fields.String(data_key="serviceIdentifier", allow_none=True)
    units = DecimalString(allow_none=True)
    events = fields.Integer()
    reference = fields.String(allow_none=True)
    at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime(data_key="createdAt")


class InvoiceSchema(Schema):
    id = fields.String()
    kind = fields.Enum(InvoiceKind, by_value=True)
    number = fields.String()
    customer_id = fields.Integer(data_key="customerId")
    customer_name = fields.String(data_key="customerName", allow_none=True)
    billing_profile_id = fields.String(data_key="billingProfileId")
    bill_id = fields.Integer(data_key="billId", allow_none=True)
    status = fields.Enum(InvoiceStatus, by_value=True)
    lines = fields.List(fields.Dict())
    net_amount = DecimalString(data_key="netAmount")
    tax_amount = DecimalString(data_key="taxAmount")
    total = DecimalString(data_key="amount")
    due_amount = DecimalString(data_key="dueAmount")
    currency = fields.String()
    period_start = fields.AwareDateTime(data_key="periodStart", allow_none=True)
    period_end = fields.AwareDateTime(data_key="periodEnd", allow_none=True)
    due_date = fields.AwareDateTime(data_key="dueDate")
    issued_at = fields.AwareDateTime(data_key="issuedAt")
    references = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    transferred_to = fields.Dict(data_key="transferredTo", allow_none=True)


class NoteSchema(Schema):
    """A correction of an issued invoice: a credit note (takes off) or a debit note (adds)."""

    kind = fields.String(load_default="credit_note", validate=validate.OneOf(["credit_note", "debit_note"]))
    amount = DecimalString(required=True, minimum=0, exclusive_minimum=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    id = fields.UUID(load_default=None)


class BillRunStartSchema(Schema):
    as_of = fields.AwareDateTime(load_default=None, data_key="asOf")


class HierarchyGroupPatchSchema(Schema):
    status = fields.Enum(GroupStatus, by_value=True)
    valid_from = fields.AwareDateTime(data_key="validFrom")
    valid_to = fields.AwareDateTime(data_key="validTo", allow_none=True)
