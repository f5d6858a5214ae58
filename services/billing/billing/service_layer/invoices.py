"""Invoices: drafting from a bill, issuing (numbered in the same transaction), reading, corrections.

Issued means frozen: the lines, tax rates and amounts an invoice is issued with are stored on it and
never recomputed. A correction is a credit or debit note with its own number series.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from billing.adapters.documents import BillingCustomer, BillingProfile, Invoice, SubscriptionFees
from billing.domain.cycles import Cycle
from billing.domain.fees import Snapshot, one_time_charges, recurring_charges
from billing.domain.invoices import UNPAID, InvoiceKind, InvoiceStatus, invoice_number, series
from billing.domain.lines import Charge, ItemKind, Line, Tax, Totals, invoice_lines, totals
from billing.schemas import InvoiceSchema, NoteSchema
from billing.service_layer.catalog import Catalog, TaxCache
from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, load_wire
from chassis.money import to_decimal, to_storage, to_wire
from chassis.mongo import UnitOfWork, transaction

SOURCE = "billing"
_out = InvoiceSchema()
_note_in = NoteSchema()


# -- drafting: what an invoice of a bill would say (pure but for the tax lookup) -----------------

@dataclass
class Draft:
    lines: list[Line]
    totals: Totals
    one_time_product_ids: dict[str, list[str]] = field(default_factory=dict)  # subscription -> product ids
    charges: list[Charge] = field(default_factory=list)


def item_charge(item: Mapping[str, Any]) -> Charge:
    """A stored bill item (raw document) as the domain's charge."""
    units = item.get("units")
    return Charge(kind=ItemKind(item["kind"]), description=item["description"], amount=to_decimal(item["amount"]),
                  tax_code=item.get("tax_code"), gl_code=item.get("gl_code"),
                  balance_group_id=item.get("balance_group_id"), resource=item.get("resource"),
                  service_id=item.get("service_id"), units=None if units is None else to_decimal(units),
                  reference=item.get("reference"), events=int(item.get("events") or 0),
                  details={"id": item.get("_id"), "at": item.get("at"),
                           "serviceIdentifier": item.get("service_identifier")})


def summed_items(collection: Any, bill_ids: list[int], session: Any = None) -> dict[int, list[dict[str, Any]]]:
    """The bills' items with usage already summed per service by MongoDB (exact Decimal128 sums), so a
    bill run reads one row per service instead of one per rating batch."""
    usage_key = {"service": "$service_id", "group": "$balance_group_id", "resource": "$resource", "tax": "$tax_code",
                 "gl": "$gl_code"}
    rows = collection.aggregate([
        {"$match": {"bill_id": {"$in": bill_ids}}},
        {"$sort": {"created_at": 1, "_id": 1}},
        {"$group": {"_id": {"bill": "$bill_id", "key": {"$cond": [{"$eq": ["$kind", "usage"]}, usage_key, "$_id"]}},
                    "first": {"$first": "$$ROOT"}, "amount": {"$sum": "$amount"}, "units": {"$sum": "$units"},
                    "events": {"$sum": "$events"}}},
        {"$sort": {"first.created_at": 1, "first._id": 1}},
    ], session=session)
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item = {**row["first"], "amount": row["amount"], "events": row["events"]}
        if item["kind"] == ItemKind.USAGE.value:
            item["units"] = row["units"]
        grouped.setdefault(item["bill_id"], []).append(item)
    return grouped


def snapshots(fees: Mapping[str, Any]) -> list[Snapshot]:
    return [Snapshot(at=entry["at"], products=entry.get("products") or [], cancelled=bool(entry.get("cancelled")))
            for entry in fees.get("history") or []]


def fee_charges(fees_docs: Iterable[Mapping[str, Any]], cycle: Cycle, recurring: bool = True
                ) -> tuple[list[Charge], dict[str, list[str]]]:
    """Recurring fees of `cycle` (prorated) and one-time fees not billed yet, from billing's copy of
    the subscriptions; also which one-time products the invoice will have billed."""
    charges: list[Charge] = []
    one_time: dict[str, list[str]] = {}
    for fees in fees_docs:
        history = snapshots(fees)
        group = fees.get("balance_group_id")
        if recurring:
            charges.extend(recurring_charges(history, cycle, group))
        once = one_time_charges(history, cycle.end, set(fees.get("one_time_billed") or []), group)
        if once:
            one_time[fees["_id"]] = [str(c.reference) for c in once]
            charges.extend(once)
    return charges, one_time


def draft(items: Iterable[Mapping[str, Any]], fees_docs: Iterable[Mapping[str, Any]], cycle: Cycle,
          currency: str, taxes: TaxCache, recurring: bool = True) -> Draft:
    charges = [item_charge(i) for i in items]
    fee_list, one_time = fee_charges(fees_docs, cycle, recurring)
    charges.extend(fee_list)
    rates = taxes.resolve({c.tax_code for c in charges if c.tax_code})
    lines = invoice_lines(charges, rates, currency)
    return Draft(lines=lines, totals=totals(lines, currency), one_time_product_ids=one_time, charges=charges)


def line_wire(line: Line) -> dict[str, Any]:
    return {"kind": line.kind.value, "description": line.description, "amount": to_wire(line.amount),
            "tax": _tax_wire(line.tax), "taxAmount": to_wire(line.tax_amount), "total": to_wire(line.total),
            "glCode": line.gl_code, "balanceGroupId": line.balance_group_id, "resource": line.resource,
            "serviceId": line.service_id, "units": None if line.units is None else to_wire(line.units),
            "events": line.events, "reference": line.reference}


def _tax_wire(tax: Tax | None) -> dict[str, Any] | None:
    if tax is None:
        return None
    return {"code": tax.code, "rate": to_wire(tax.rate), "supplier": tax.supplier, "glCode": tax.gl_code}


# -- issuing ---------------------------------------------------------------------------------

@dataclass
class Issue:
    """What an invoice is issued from; `number` is filled in when the series' block is allocated."""

    profile: Mapping[str, Any]
    customer: Mapping[str, Any] | None
    bill_id: int | None
    period: Cycle | None
    lines: list[dict[str, Any]]
    totals: Totals
    issued_at: datetime
    kind: InvoiceKind = InvoiceKind.INVOICE
    run_id: str | None = None
    references: str | None = None
    reason: str | None = None
    invoice_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    transferred_to: dict[str, Any] | None = None
    number: str = ""
    series: str = ""


def allocate_numbers(uow: UnitOfWork, issues: list[Issue]) -> None:
    """Gap-free numbers per series: one counter per series, moved by the block in this transaction,
    so an aborted transaction takes its numbers back with it."""
    by_series: dict[str, list[Issue]] = {}
    for issue in issues:
        by_series.setdefault(series(issue.kind, issue.issued_at.year), []).append(issue)
    for name, members in by_series.items():
        counter = uow.collection("counters").find_one_and_update(
            {"_id": f"invoice:{name}"}, {"$inc": {"value": len(members)}}, upsert=True, return_document=True,
            session=uow.session)
        assert counter is not None, "an upsert returns the document"
        last = counter["value"]
        for offset, issue in enumerate(members):
            issue.number = invoice_number(name, last - len(members) + 1 + offset)
            issue.series = name


def invoice_document(issue: Issue) -> dict[str, Any]:
    profile, currency = issue.profile, str(issue.profile["resource"])
    transferred = issue.transferred_to is not None
    due = Decimal(0) if transferred else issue.totals.total
    terms = int(profile.get("payment_terms_days") or 0)
    customer = issue.customer or {}
    return {
        "_id": issue.invoice_id, "kind": issue.kind.value, "number": issue.number,
        "series": issue.series, "customer_id": int(profile["customer_id"]),
        "customer_name": customer.get("name"), "locale": locale_for(customer.get("country")),
        "billing_profile_id": str(profile["_id"]), "bill_id": issue.bill_id,
        # A transferred member invoice is paid by the hierarchy owner: nothing is due from the member.
        "status": (InvoiceStatus.CLOSED if transferred or due == 0 else InvoiceStatus.BILLING).value,
        "lines": issue.lines, "net_amount": to_storage(issue.totals.net), "tax_amount": to_storage(issue.totals.tax),
        "total": to_storage(issue.totals.total), "due_amount": to_storage(due), "currency": currency,
        "period_start": issue.period.start if issue.period else None,
        "period_end": issue.period.end if issue.period else None,
        "due_date": issue.issued_at + timedelta(days=terms), "issued_at": issue.issued_at, "run_id": issue.run_id,
        "references": issue.references, "reason": issue.reason, "transferred_to": issue.transferred_to,
        "created_at": utc_now(),
    }


def issued_event(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"invoiceId": doc["_id"], "number": doc["number"], "kind": doc["kind"], "customerId": doc["customer_id"],
            "billingProfileId": doc["billing_profile_id"], "billId": doc["bill_id"],
            "amount": to_wire(to_decimal(doc["total"])), "taxAmount": to_wire(to_decimal(doc["tax_amount"])),
            "dueAmount": to_wire(to_decimal(doc["due_amount"])), "currency": doc["currency"],
            "dueDate": doc["due_date"].isoformat(), "issuedAt": doc["issued_at"].isoformat(),
            "references": doc["references"], "transferredTo": doc["transferred_to"]}


def store_issued(uow: UnitOfWork, issues: list[Issue]) -> list[dict[str, Any]]:
    """Number, insert and announce invoices in the caller's transaction."""
    if not issues:
        return []
    allocate_numbers(uow, issues)
    docs = [invoice_document(issue) for issue in issues]
    uow.collection(Invoice).insert_many(docs, session=uow.session)
    uow.publish_many(("billing.invoice_issued", issued_event(doc), doc["_id"]) for doc in docs)
    for issue, doc in zip(issues, docs, strict=True):
        # The profile was read in this transaction: without a credit balance the hook has nothing to do,
        # and a bill run of thousands of profiles saves a read per invoice.
        if to_decimal(issue.profile.get("credit_balance") or 0) != 0:
            after_invoice_issued(uow, doc)
    return docs


def after_invoice_issued(uow: UnitOfWork, invoice: Mapping[str, Any]) -> None:
    """HOOK POINT for payments (issue 11): runs in the issuing transaction for every new invoice of a
    profile that has a credit balance, to apply it to the invoice's due amount."""
    from billing.service_layer.payments import apply_credit_balance  # payments build on invoices

    apply_credit_balance(uow, dict(invoice))


@lru_cache(maxsize=512)
def locale_for(country: str | None) -> str:
    """The customer's locale for money and dates on the invoice (Babel's likely language of the country)."""
    if not country:
        return "en"
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(f"und_{country}"))
    except (UnknownLocaleError, ValueError):
        return "en"


# -- reading ----------------------------------------------------------------------------------

def _owned(customer_id: int, invoice_id: str) -> Invoice:
    invoice = Invoice.objects(id=invoice_id, customer_id=customer_id).first()
    if invoice is None:
        # Another customer's invoice is as unknown as a missing one (portals pass their own customer id).
        raise NotFound(f"customer {customer_id} has no invoice {invoice_id}")
    return invoice


def get_invoice(customer_id: int, invoice_id: str) -> dict[str, Any]:
    return _out.dump(_owned(customer_id, invoice_id))


def list_invoices(customer_id: int, status: str | None = None, offset: int = 0, limit: int = 50) -> dict[str, Any]:
    query = Invoice.objects(customer_id=customer_id, **({"status": status} if status else {}))
    page = query.order_by("-issued_at", "-number").skip(offset).limit(limit)
    return {"items": [_out.dump(i) for i in page], "total": query.count()}


def count_unpaid_invoices(customer_id: int) -> int:
    return Invoice.objects(customer_id=customer_id, status__in=list(UNPAID)).count()


# -- corrections ------------------------------------------------------------------------------

def issue_note(customer_id: int, invoice_id: str, payload: dict[str, Any], catalog: Catalog,
               at: datetime | None = None) -> dict[str, Any]:
    """A credit note (takes `amount` off) or debit note (adds it) referencing an issued invoice."""
    data = load_wire(_note_in, payload)
    kind = InvoiceKind(data["kind"])
    note_id = str(data["id"] or uuid.uuid4())
    issued_at = at or utc_now()
    tax = TaxCache(catalog).tax(data["tax"]) if data["tax"] else None

    def store(uow: UnitOfWork) -> dict[str, Any]:
        existing = uow.find_one(Invoice, {"_id": note_id})
        if existing is not None:
            return _out.dump(existing)
        original = uow.find_one(Invoice, {"_id": invoice_id, "customer_id": customer_id})
        if original is None:
            raise NotFound(f"customer {customer_id} has no invoice {invoice_id}")
        if original.kind is not InvoiceKind.INVOICE:
            raise Conflict("only an invoice can be corrected", {"invoiceId": f"is a {original.kind.value}"})
        profile = uow.collection(BillingProfile).find_one({"_id": original.billing_profile_id}, session=uow.session)
        assert profile is not None, "a profile goes only with its customer's invoices (purge), in one transaction"
        sign = -1 if kind is InvoiceKind.CREDIT_NOTE else 1
        charge = Charge(ItemKind.ADJUSTMENT, data["reason"], sign * data["amount"],
                        tax_code=tax.code if tax else None)
        lines = invoice_lines([charge], {tax.code: tax} if tax else {}, original.currency)
        customer = uow.collection(BillingCustomer).find_one({"_id": customer_id}, session=uow.session)
        issue = Issue(profile=profile, customer=customer, bill_id=original.bill_id, period=None,
                      lines=[line_wire(line) for line in lines], totals=totals(lines, original.currency),
                      issued_at=issued_at, kind=kind, references=original.id, reason=data["reason"],
                      invoice_id=note_id)
        [doc] = store_issued(uow, [issue])
        return _out.dump(Invoice._from_son(doc))

    return transaction(store, source=SOURCE)


def mark_one_time_billed(uow: UnitOfWork, one_time: dict[str, list[str]]) -> None:
    """Remember one-time fees that made it onto an issued invoice, so no later invoice repeats them."""
    for subscription_id, product_ids in one_time.items():
        uow.collection(SubscriptionFees).update_one({"_id": subscription_id},
                                                    {"$addToSet": {"one_time_billed": {"$each": product_ids}}},
                                                    session=uow.session)
