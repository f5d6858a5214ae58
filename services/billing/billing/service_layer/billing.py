"""Billing one profile's cycle: run billing, bill now and the preview (seed "The billing process").

`bill_batch` is the bill run's step (`bill_profiles` its own transaction, for billing one profile from
the operator): for a batch of profiles, in one transaction, each profile whose active bill's cycle has
ended by `as_of` gets its invoice (numbered in that transaction), its active bill moves to billing, the
inactive one becomes active and a new inactive bill is prepared. A profile whose cycle has not ended is
left alone, so running the step again never bills twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo import UpdateOne

from billing.adapters.documents import Bill, BillingCustomer, BillingProfile, BillItem, SubscriptionFees
from billing.domain.bills import BillState, BillStatus, shift
from billing.domain.cycles import Cycle
from billing.domain.lines import ItemKind, UnknownTax
from billing.service_layer import hierarchy
from billing.service_layer.catalog import TaxCache
from billing.service_layer.cycles import BILL_SEQUENCE, calendar_of, cycle_started_event
from billing.service_layer.invoices import (
    Draft,
    Issue,
    draft,
    line_wire,
    mark_one_time_billed,
    store_issued,
    summed_items,
)
from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, PlatformError
from chassis.money import to_storage, to_wire
from chassis.mongo import UnitOfWork, transaction

SOURCE = "billing"


@dataclass
class Outcome:
    billing_profile_id: str
    status: str  # billed | not_due | failed
    invoice_id: str | None = None
    reason: str | None = None


@dataclass
class _Planned:
    profile: dict[str, Any]
    active: dict[str, Any]
    inactive: dict[str, Any]
    draft: Draft
    issue: Issue
    payer: hierarchy.Payer | None


def bill_profiles(profile_ids: list[str], as_of: datetime, taxes: TaxCache) -> list[Outcome]:
    """Bill these profiles (if due) in a transaction of their own (see the module docstring)."""
    return transaction(lambda uow: bill_batch(uow, profile_ids, as_of, taxes), source=SOURCE)


def bill_batch(uow: UnitOfWork, ids: list[str], as_of: datetime, taxes: TaxCache, run_id: str | None = None
               ) -> list[Outcome]:
    """The idempotent step over a batch, in the caller's transaction; `run_id` marks the invoices of a run."""
    s = uow.session
    profiles = {p["_id"]: p for p in uow.collection(BillingProfile).find({"_id": {"$in": ids}}, session=s)}
    open_bills: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for bill in uow.collection(Bill).find({"billing_profile_id": {"$in": ids},
                                           "status": {"$in": [BillStatus.ACTIVE.value, BillStatus.INACTIVE.value]}},
                                          session=s):
        open_bills[bill["billing_profile_id"]][bill["status"]] = bill
    due = [pid for pid in ids if pid in profiles and "active" in open_bills[pid]
           and open_bills[pid]["active"]["cycle_end"] <= as_of]
    outcomes = {pid: Outcome(pid, "not_due") for pid in ids}
    if not due:
        return list(outcomes.values())
    items = summed_items(uow.collection(BillItem), [open_bills[pid]["active"]["_id"] for pid in due], s)
    fees = _grouped(uow.collection(SubscriptionFees).find({"billing_profile_id": {"$in": due}}, session=s),
                    "billing_profile_id")
    customer_ids = list({profiles[pid]["customer_id"] for pid in due})
    customers = {c["_id"]: c for c in uow.collection(BillingCustomer).find({"_id": {"$in": customer_ids}},
                                                                           session=s)}
    payers = hierarchy.payers(uow, customer_ids, as_of)
    planned: list[_Planned] = []
    for pid in due:
        profile, active = profiles[pid], open_bills[pid]["active"]
        inactive = open_bills[pid].get("inactive")
        cycle = Cycle(active["cycle_start"], active["cycle_end"])
        try:
            if inactive is None:
                raise Conflict(f"billing profile {pid} has no inactive bill",
                               {"billingProfileId": "bills out of order"})
            result = draft(items.get(active["_id"], []), fees.get(pid, []), cycle, str(profile["resource"]), taxes)
            payer = payers.get(profile["customer_id"])
            if payer is not None and payer.currency != profile["resource"]:
                raise Conflict(f"hierarchy owner bills in {payer.currency}, member in {profile['resource']}",
                               {"groupId": "owner and member bill in different currencies"})
        except (PlatformError, UnknownTax) as exc:
            outcomes[pid] = Outcome(pid, "failed", reason=_reason(exc))
            continue
        issue = Issue(profile=profile, customer=customers.get(profile["customer_id"]), bill_id=active["_id"],
                      period=cycle, lines=[line_wire(line) for line in result.lines], totals=result.totals,
                      issued_at=as_of, run_id=run_id, transferred_to=payer.wire() if payer else None)
        planned.append(_Planned(profile, active, inactive, result, issue, payer))
    _apply(uow, planned, as_of)
    for plan in planned:
        outcomes[plan.profile["_id"]] = Outcome(plan.profile["_id"], "billed", invoice_id=plan.issue.invoice_id)
    return list(outcomes.values())


def _apply(uow: UnitOfWork, planned: list[_Planned], as_of: datetime) -> None:
    if not planned:
        return
    s = uow.session
    store_issued(uow, [plan.issue for plan in planned])
    counter = uow.collection("counters").find_one_and_update(
        {"_id": BILL_SEQUENCE}, {"$inc": {"value": len(planned)}}, upsert=True, return_document=True, session=s)
    assert counter is not None, "an upsert returns the document"
    last_id = counter["value"]
    bill_writes: list[Any] = []
    started: list[tuple[str, dict[str, Any], str | None]] = []
    prepared: list[dict[str, Any]] = []
    for offset, plan in enumerate(planned):
        calendar = calendar_of(plan.profile)
        active, inactive = plan.active, plan.inactive
        result = shift(BillState(active["_id"], BillStatus.ACTIVE, Cycle(active["cycle_start"], active["cycle_end"])),
                       BillState(inactive["_id"], BillStatus.INACTIVE,
                                 Cycle(inactive["cycle_start"], inactive["cycle_end"])),
                       last_id - len(planned) + 1 + offset,
                       calendar.next_cycle(Cycle(inactive["cycle_start"], inactive["cycle_end"])))
        bill_writes.append(UpdateOne({"_id": active["_id"], "status": BillStatus.ACTIVE.value},
                                     {"$set": {"status": result.billed.status.value,
                                               "invoice_id": plan.issue.invoice_id, "billed_at": as_of}}))
        bill_writes.append(UpdateOne({"_id": inactive["_id"], "status": BillStatus.INACTIVE.value},
                                     {"$set": {"status": result.activated.status.value}}))
        prepared.append(_bill_document(plan.profile, result.prepared.id, BillStatus.INACTIVE, result.prepared.cycle))
        started.append(("billing.cycle_started",
                        cycle_started_event(plan.profile, result.activated.id, result.activated.cycle),
                        plan.profile["_id"]))
        mark_one_time_billed(uow, plan.draft.one_time_product_ids)
        if plan.payer is not None:
            hierarchy.transfer_to_owner(uow, plan.payer, plan.issue, plan.profile, as_of)
    uow.publish_many(started)
    # Updates and inserts in two round trips (an ordered mix would cost one per switch of kind).
    uow.collection(Bill).insert_many(prepared, session=s)
    done = uow.collection(Bill).bulk_write(bill_writes, ordered=False, session=s)
    if done.modified_count != 2 * len(planned):
        # Another transaction moved one of these bills: abort, the retry sees what it did.
        raise Conflict("bills changed while billing", {"billId": "billed concurrently"})


def _bill_document(profile: dict[str, Any], bill_id: int, status: BillStatus, cycle: Cycle) -> dict[str, Any]:
    return {"_id": bill_id, "billing_profile_id": profile["_id"], "customer_id": profile["customer_id"],
            "status": status.value, "cycle_start": cycle.start, "cycle_end": cycle.end,
            "currency": profile["resource"], "charged": to_storage(Decimal(0)), "items": 0, "bill_now": False,
            "created_at": utc_now()}


def _grouped(rows: Any, key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnknownTax):
        return f"unknown tax {exc.args[0]!r}"
    return str(exc)


# -- bill now ----------------------------------------------------------------------------------

def bill_now(profile_id: str, at: datetime, taxes: TaxCache) -> dict[str, Any]:
    """Move the active bill's items to a new bill that goes to billing at once, with its invoice.

    Recurring fees stay with the cycle (its run charges them); unbilled one-time fees go with the items.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        s = uow.session
        uow.lock(f"billing-profile:{profile_id}")
        profile = uow.collection(BillingProfile).find_one({"_id": profile_id}, session=s)
        if profile is None:
            raise NotFound(f"billing profile {profile_id} does not exist")
        active = uow.collection(Bill).find_one({"billing_profile_id": profile_id, "status": "active"}, session=s)
        if active is None:
            raise Conflict(f"billing profile {profile_id} has no active bill",
                           {"billingProfileId": "bills out of order"})
        items = summed_items(uow.collection(BillItem), [active["_id"]], s).get(active["_id"], [])
        fees = list(uow.collection(SubscriptionFees).find({"billing_profile_id": profile_id}, session=s))
        period = Cycle(active["cycle_start"], at)
        result = draft(items, fees, period, str(profile["resource"]), taxes, recurring=False)
        if not result.lines:
            # An empty invoice would only use up a number of the gap-free series.
            raise Conflict(f"nothing to bill now: the active bill of {profile_id} has no items and no "
                           f"unbilled one-time fees")
        new_id = uow.next_sequence(BILL_SEQUENCE)
        payer = hierarchy.payers(uow, [profile["customer_id"]], at).get(profile["customer_id"])
        issue = Issue(profile=profile, customer=uow.collection(BillingCustomer).find_one(
                          {"_id": profile["customer_id"]}, session=s),
                      bill_id=new_id, period=period, lines=[line_wire(line) for line in result.lines],
                      totals=result.totals, issued_at=at, transferred_to=payer.wire() if payer else None)
        [invoice] = store_issued(uow, [issue])
        bill = {**_bill_document(profile, new_id, BillStatus.BILLING, period), "bill_now": True,
                "invoice_id": invoice["_id"], "billed_at": at, "charged": active["charged"],
                "items": active.get("items", 0)}
        uow.collection(Bill).insert_one(bill, session=s)
        uow.collection(BillItem).update_many({"bill_id": active["_id"]}, {"$set": {"bill_id": new_id}}, session=s)
        uow.collection(Bill).update_one({"_id": active["_id"]},
                                        {"$set": {"charged": to_storage(Decimal(0)), "items": 0}}, session=s)
        mark_one_time_billed(uow, result.one_time_product_ids)
        if payer is not None:
            hierarchy.transfer_to_owner(uow, payer, issue, profile, at)
        return {"bill": _bill_wire(bill), "invoice": get_invoice_wire(invoice)}

    return transaction(work, source=SOURCE)


def get_invoice_wire(invoice: dict[str, Any]) -> dict[str, Any]:
    from billing.adapters.documents import Invoice
    from billing.schemas import InvoiceSchema

    return dict(InvoiceSchema().dump(Invoice._from_son(invoice)))


def _bill_wire(bill: dict[str, Any]) -> dict[str, Any]:
    from billing.schemas import BillSchema

    return BillSchema().dump(Bill._from_son(bill))


# -- preview -----------------------------------------------------------------------------------

def preview(profile_id: str, taxes: TaxCache, details: bool = False) -> dict[str, Any]:
    """A test billing of the active bill: the next invoice as it would be issued now. Writes nothing."""
    profile = BillingProfile.objects(id=profile_id).first()
    if profile is None:
        raise NotFound(f"billing profile {profile_id} does not exist")
    db = BillingProfile._get_db()
    active = db.bills.find_one({"billing_profile_id": profile_id, "status": "active"})
    fees = list(db.subscription_fees.find({"billing_profile_id": profile_id}))
    cycle = Cycle(active["cycle_start"], active["cycle_end"])
    try:
        result = draft(summed_items(db.bill_items, [active["_id"]]).get(active["_id"], []), fees, cycle,
                       profile.resource, taxes)
    except UnknownTax as exc:
        raise Conflict(_reason(exc), {"tax": _reason(exc)}) from exc
    answer: dict[str, Any] = {
        "billingProfileId": profile_id, "billId": active["_id"], "currency": profile.resource,
        "periodStart": cycle.start.isoformat(), "periodEnd": cycle.end.isoformat(),
        "lines": [line_wire(line) for line in result.lines], "netAmount": to_wire(result.totals.net),
        "taxAmount": to_wire(result.totals.tax), "amount": to_wire(result.totals.total)}
    if details:
        answer["events"] = [
            {"itemId": i["_id"], "kind": i["kind"], "description": i["description"],
             "serviceId": i.get("service_id"), "serviceIdentifier": i.get("service_identifier"),
             "units": None if i.get("units") is None else to_wire(i["units"].to_decimal()),
             "amount": to_wire(i["amount"].to_decimal()), "events": i.get("events", 0),
             "at": i["at"].isoformat() if i.get("at") else None}
            for i in db.bill_items.find({"bill_id": active["_id"], "kind": ItemKind.USAGE.value}).sort("created_at", 1)]
    return answer
