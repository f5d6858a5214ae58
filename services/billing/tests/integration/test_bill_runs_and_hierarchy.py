"""Bill runs (resumable, idempotent, members before owners) and hierarchy transfers on a real MongoDB."""
import threading
from datetime import UTC, datetime

import pytest

from billing.config import BillingConfig
from billing.service_layer import bill_run, bills, hierarchy, invoices, jobs, profiles
from billing.service_layer.catalog import TaxCache
from chassis.envelope import new_event
from chassis.errors import Conflict
from chassis.jobs import JobRun, to_wire

FEB_1 = datetime(2026, 2, 1, tzinfo=UTC)
CONFIG = BillingConfig(job_lease_seconds=30, bill_run_batch=2)


def make_profile(catalog, profile_payload, customer_id):
    return profiles.create_billing_profile(
        profile_payload(customer_id=customer_id, billingDay=1, validFrom="2026-01-10T00:00:00Z"), catalog)


def charge(profile_id, amount):
    bills.record_usage_charged("billing.on_usage_charged", new_event("usage.charged", "rating", {
        "billingProfileId": profile_id, "customerId": 1, "billId": None, "balanceGroupId": "bg", "serviceId": "s",
        "serviceIdentifier": "1", "serviceType": "voice", "resource": "EUR", "units": "1", "amount": amount,
        "currency": "EUR", "events": 1, "late": False, "firstStart": "2026-01-11T00:00:00Z",
        "lastStart": "2026-01-11T00:00:00Z"}))


def numbers(db):
    return sorted(int(i["number"].rsplit("-", 1)[1]) for i in db.invoices.find({"kind": "invoice"}))


def test_a_bill_run_bills_every_due_profile_once_and_reports(billing_db, catalog, profile_payload):
    created = [make_profile(catalog, profile_payload, c) for c in range(1, 6)]
    for p in created:
        charge(p["id"], "2")
    run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    assert run["started"] and run["status"] == "pending" and run["progress"] == {"processed": 0, "total": 5}
    done = bill_run.execute_bill_run(run["id"], catalog, CONFIG)
    assert done["status"] == "done" and done["progress"] == {"processed": 5, "total": 5} and done["invoices"] == 5
    assert numbers(billing_db) == [1, 2, 3, 4, 5]
    job = to_wire(jobs.store(CONFIG).get(run["jobId"]))  # what GET /api/v1/jobs/{jobId} shows
    assert (job["id"], job["kind"], job["status"]) == (f"billing-{run['id']}", "bill-run", "succeeded")
    assert job["progress"] == {"processed": 5, "failed": 0, "total": 5} and job["outcomes"] == {"billed": 5}
    completed = billing_db.outbox.find_one({"type": "billing.bill_run_completed"})["envelope"]["data"]
    assert completed == {"jobId": run["jobId"], "runId": run["id"], "asOf": "2026-02-01T00:00:00+00:00",
                         "processed": 5, "failed": 0, "invoices": 5}
    assert bill_run.get_bill_run(run["jobId"]) == done, "a run is found by its job id as well"
    again = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    assert not again["started"] and again["status"] == "done"
    assert bill_run.execute_bill_run(run["id"], catalog, CONFIG)["invoices"] == 5
    assert billing_db.invoices.count_documents({}) == 5


def test_a_run_started_twice_at_once_bills_once(billing_db, catalog, profile_payload):
    for c in range(1, 7):
        make_profile(catalog, profile_payload, c)
    results = []

    def start_and_execute():
        run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
        results.append((run["started"], bill_run.execute_bill_run(run["id"], catalog, CONFIG)["status"]))

    threads = [threading.Thread(target=start_and_execute) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(started for started, _ in results) == [False, True]
    assert {status for _, status in results} <= {"running", "done"}
    assert billing_db.invoices.count_documents({}) == 6 and numbers(billing_db) == list(range(1, 7))


def test_a_run_whose_executor_stopped_is_resumed_without_billing_anyone_twice(billing_db, catalog, profile_payload):
    for c in range(1, 6):
        make_profile(catalog, profile_payload, c)
    run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    # An executor that billed one batch and died: its lease has run out.
    store = jobs.store(CONFIG)
    dead = JobRun(store, store.claim("dead", job_id=run["jobId"]), "dead")
    first = bill_run._due_batches(FEB_1, set(), CONFIG.bill_run_batch)[0]
    dead.steps(first, lambda uow, keys: bill_run._bill(uow, keys, FEB_1, TaxCache(catalog), run["id"]))
    assert bill_run.get_bill_run(run["id"])["progress"] == {"processed": 2, "total": 5}
    billing_db.jobs.update_one({"_id": run["jobId"]}, {"$set": {"lease_until": datetime(2020, 1, 1, tzinfo=UTC)}})
    [resumed] = jobs.resume({jobs.BILL_RUN: bill_run.bill_run_steps(catalog, CONFIG)}, CONFIG)
    assert (resumed["_id"], resumed["status"], resumed["attempts"]) == (run["jobId"], "succeeded", 2)
    done = bill_run.get_bill_run(run["id"])
    assert done["progress"] == {"processed": 5, "total": 5} and numbers(billing_db) == [1, 2, 3, 4, 5]
    assert billing_db.outbox.count_documents({"type": "billing.bill_run_completed"}) == 1


def test_a_profile_that_fails_is_reported_with_its_reason_and_the_others_are_billed(billing_db, catalog,
                                                                                   profile_payload):
    good, bad = make_profile(catalog, profile_payload, 1), make_profile(catalog, profile_payload, 2)
    charge(good["id"], "1")
    bills.adjust_bill(billing_db.bills.find_one({"billing_profile_id": bad["id"], "status": "active"})["_id"],
                      {"amount": "1", "billItem": "x", "tax": {"code": "RED"}}, catalog)
    del catalog.taxes["RED"]  # the tax disappeared from the catalog before the run
    run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    done = bill_run.execute_bill_run(run["id"], catalog, CONFIG)
    assert done["status"] == "done" and done["invoices"] == 1
    assert done["failures"] == [{"billingProfileId": bad["id"], "reason": "unknown tax 'RED'"}]


def group_of(catalog, profile_payload, owner_customer, name="Acme"):
    owner_profile = make_profile(catalog, profile_payload, owner_customer)
    return owner_profile, hierarchy.create_hierarchy_group({"name": name, "ownerCustomerId": owner_customer,
                                                            "billingProfileId": owner_profile["id"],
                                                            "validFrom": "2026-01-01T00:00:00Z"})


def test_a_members_invoice_moves_to_the_owners_active_bill_and_members_are_billed_first(billing_db, catalog,
                                                                                       profile_payload):
    owner_profile, group = group_of(catalog, profile_payload, 1)
    member_profile = make_profile(catalog, profile_payload, 2)
    hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 2, "validFrom": "2026-01-01T00:00:00Z"})
    charge(member_profile["id"], "10")
    charge(owner_profile["id"], "1")
    run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    bill_run.execute_bill_run(run["id"], catalog, BillingConfig(bill_run_batch=10))
    member_invoice = invoices.list_invoices(2)["items"][0]
    owner_invoice = invoices.list_invoices(1)["items"][0]
    assert member_invoice["transferredTo"]["billingProfileId"] == owner_profile["id"]
    assert member_invoice["dueAmount"] == "0" and member_invoice["status"] == "closed"
    transfer = [line for line in owner_invoice["lines"] if line["kind"] == "hierarchy_transfer"]
    assert [(t["reference"], t["amount"]) for t in transfer] == [(member_invoice["id"], "10.00")]
    assert owner_invoice["amount"] == "11.00"


def test_a_hierarchy_cycle_is_refused_naming_the_group(billing_db, catalog, profile_payload):
    _, group_a = group_of(catalog, profile_payload, 1, "A")
    hierarchy.join_hierarchy_group({"groupId": group_a["id"], "customerId": 2})  # A owns B
    _, group_b = group_of(catalog, profile_payload, 2, "B")
    with pytest.raises(Conflict) as error:
        hierarchy.join_hierarchy_group({"groupId": group_b["id"], "customerId": 1})  # B owns A: a cycle
    assert "groupId" in error.value.fields
    assert billing_db.hierarchy_members.count_documents({}) == 1


def test_a_cancelled_group_takes_no_members_and_edits_are_checked(billing_db, catalog, profile_payload):
    _, group = group_of(catalog, profile_payload, 1)
    edited = hierarchy.update_hierarchy_group(group["id"], {"status": "inactive", "validTo": "2027-01-01T00:00:00Z"})
    assert edited["status"] == "inactive"
    assert hierarchy.cancel_hierarchy_group(group["id"])["status"] == "cancelled"
    with pytest.raises(Conflict) as error:
        hierarchy.join_hierarchy_group({"groupId": group["id"], "customerId": 3})
    assert "groupId" in error.value.fields
    with pytest.raises(Conflict):
        hierarchy.update_hierarchy_group(group["id"], {"status": "active"})
    assert billing_db.hierarchy_members.count_documents({}) == 0


def test_members_find_groups_by_the_owners_full_name(billing_db, catalog, profile_payload):
    billing_db.customers.insert_one({"_id": 1, "name": "Grace Hopper", "email": "g@example.com", "source_event": "e"})
    _, group = group_of(catalog, profile_payload, 1)
    found = hierarchy.find_hierarchy_groups(owner_name="grace hop")
    assert [(g["id"], g["ownerName"]) for g in found] == [(group["id"], "Grace Hopper")]
    assert hierarchy.find_hierarchy_groups(owner_name="nobody") == []


def test_a_run_that_failed_as_a_whole_is_queued_again_by_starting_it_again(billing_db, catalog, profile_payload):
    for c in range(1, 4):
        make_profile(catalog, profile_payload, c)
    run = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    store = jobs.store(CONFIG)
    store.finish(store.claim("w", job_id=run["jobId"]), "w", "failed", error="AutoReconnect: primary stepped down")
    failed = bill_run.get_bill_run(run["id"])
    assert (failed["status"], failed["error"]) == ("failed", "AutoReconnect: primary stepped down")
    again = bill_run.start_bill_run({"asOf": FEB_1.isoformat()})
    assert (again["started"], again["status"], again["error"]) == (True, "pending", None)
    assert bill_run.execute_bill_run(run["id"], catalog, CONFIG)["invoices"] == 3
