"""Payment collection, SEPA export and bank-file import as resumable jobs (chassis.jobs) on a real MongoDB and the local
payment provider process: a crashed worker's job is finished by its successor, nothing is charged or
exported twice, and a finished job run again changes nothing."""
from datetime import UTC, datetime

from billing import bank_simulator
from billing.config import BillingConfig
from billing.domain import bank_results
from billing.service_layer import bank_import, collection, jobs, sepa_export
from chassis.clock import utc_now
from chassis.jobs import JobRun, execute, run_job, to_wire

CONFIG = BillingConfig(job_lease_seconds=30)


class DiesAfterCharging:
    """The real HTTP provider, in a worker that dies (SIGKILL-like: SystemExit) right after its nth
    charge went through and before it could store the answer: the worst moment to crash."""

    def __init__(self, provider, dies_at):
        self.provider, self.dies_at, self.calls = provider, dies_at, 0

    def charge(self, *args):
        answer = self.provider.charge(*args)
        self.calls += 1
        if self.calls == self.dies_at:
            raise SystemExit("worker killed")
        return answer


def expire_lease(billing_db, job_id):
    billing_db.jobs.update_one({"_id": job_id}, {"$set": {"lease_until": datetime(2020, 1, 1, tzinfo=UTC)}})


def test_a_collection_job_cut_short_is_finished_by_the_successor_and_charges_each_invoice_once(
        billing_db, issue_invoice, customer_paying, http_provider, payment_settings, provider):
    invoices = []
    for customer_id in range(301, 305):
        customer_paying(customer_id, "creditCard", token=f"tok_visa_{customer_id}")
        invoices.append(issue_invoice(customer_id=customer_id, amount="10.00"))
    store = jobs.store(CONFIG)
    job = collection.start_collection(utc_now(), store)
    dying = DiesAfterCharging(http_provider, dies_at=3)
    try:
        execute(store, job["_id"], collection.collection_steps(dying, payment_settings), owner="killed")
    except SystemExit:
        pass
    left = to_wire(store.get(job["_id"]))
    assert (left["status"], left["progress"]) == ("running", {"processed": 2, "failed": 0, "total": 4})
    assert left["outcomes"] == {"approved": 2}

    expire_lease(billing_db, job["_id"])
    [finished] = jobs.resume({jobs.COLLECT_PAYMENTS: collection.collection_steps(http_provider, payment_settings)},
                             CONFIG)
    assert (finished["_id"], finished["status"], finished["attempts"]) == (job["_id"], "succeeded", 2)
    assert finished["progress"] == {"processed": 4, "failed": 0, "total": 4}
    assert finished["report"]["approved"] == 4 and finished["outcomes"] == {"approved": 4}
    ours = [c["idempotencyKey"] for c in provider.accepted() if c["token"].startswith("tok_visa_30")]
    assert sorted(ours) == sorted(f"{invoice_id}:1" for invoice_id in invoices), "each invoice charged once"
    assert billing_db.invoices.count_documents({"_id": {"$in": invoices}, "status": "closed"}) == 4
    assert billing_db.payments.count_documents({"invoice_id": {"$in": invoices}}) == 4

    again = run_job("billing", jobs.COLLECT_PAYMENTS, {}, collection.collection_steps(http_provider, payment_settings),
                    job_id=job["_id"], store=store)
    assert again == store.get(job["_id"]), "a finished job run again is returned as it is"


def test_a_sepa_export_job_left_by_a_dead_worker_is_exported_once_and_names_what_it_skipped(
        billing_db, issue_invoice, customer_paying, payment_settings):
    customer_paying(401, "directDebit", mandateId="MANDATE-401")
    customer_paying(402, "directDebit", mandateId=None)
    collected, skipped = issue_invoice(customer_id=401, amount="8.00"), issue_invoice(customer_id=402, amount="2.00")
    store = jobs.store(CONFIG)
    job = sepa_export.start_export(utc_now(), store)
    assert store.claim("dead", job_id=job["_id"])["owner"] == "dead"  # claimed, then the worker died
    expire_lease(billing_db, job["_id"])

    [finished] = jobs.resume({jobs.SEPA_EXPORT: sepa_export.export_steps(payment_settings)}, CONFIG)
    wire = to_wire(finished)
    assert (wire["status"], wire["attempts"], wire["progress"]) == ("succeeded", 2,
                                                                    {"processed": 2, "failed": 1, "total": 2})
    assert wire["outcomes"] == {"collected": 1}
    assert [(f["item"], f["reason"]) for f in wire["failures"]] == [
        (skipped, "the customer pays by direct debit but has no SEPA mandate")]
    report = wire["report"]
    assert report["transactions"] == 1 and [s["invoiceId"] for s in report["skipped"]] == [skipped]
    assert report["skipped"][0]["fields"] == {"paymentInfo.directDebit.mandateId": "missing"}
    assert [tx["invoice_id"] for tx in billing_db.sepa_transactions.find()] == [collected]

    assert run_job("billing", jobs.SEPA_EXPORT, {}, sepa_export.export_steps(payment_settings), job_id=job["_id"],
                   store=store) == store.get(job["_id"])
    assert billing_db.sepa_files.count_documents({}) == 1


def test_a_bank_import_cut_short_is_finished_from_the_kept_file_and_then_known_as_a_duplicate(
        billing_db, issue_invoice, customer_paying, payment_settings, events):
    for customer_id in (501, 502):
        customer_paying(customer_id, "directDebit", mandateId=f"MANDATE-{customer_id}")
        issue_invoice(customer_id=customer_id, amount="4.00")
    exported = sepa_export.export_sepa(payment_settings, utc_now())
    content = sepa_export.file_content(exported["fileId"])
    returned_e2e = bank_simulator.transactions(content)[1][0]
    camt = bank_simulator.camt054(content, payment_settings.creditor.iban, {returned_e2e: "AM04"})
    results = bank_results.parse(camt).results
    store = jobs.store(CONFIG)
    job = bank_import.start_import(camt, payment_settings, utc_now(), store)
    # A worker applied the first result and died; the file itself is all its successor gets.
    dead = JobRun(store, store.claim("dead", job_id=job["_id"]), "dead")
    dead.steps([f"0:{results[0].end_to_end_id}"],
               lambda uow, keys: bank_import._apply_chunk(uow, {keys[0]: results[0]}, utc_now()),
               outcome=lambda answer: answer["status"])
    expire_lease(billing_db, job["_id"])

    [finished] = jobs.resume({jobs.BANK_IMPORT: bank_import.import_steps(payment_settings)}, CONFIG)
    assert (finished["status"], finished["attempts"], finished["progress"]["processed"]) == ("succeeded", 2, 2)
    assert finished["outcomes"] == {"matched": 2}
    report = finished["report"]
    assert [(m["endToEndId"], m["outcome"]) for m in report["matched"]] == [
        (r.end_to_end_id, r.outcome.value) for r in results]
    assert {m["outcome"] for m in report["matched"]} == {"paid", "returned"}
    assert [e["reasonCode"] for e in events("billing.payment_failed")] == ["AM04"]
    assert billing_db.payments.count_documents({"method": "sepa"}) == 1
    again = bank_import.import_bank_file(camt, payment_settings, utc_now())
    assert again["duplicate"] is True and again["counts"] == {"matched": 2, "unmatched": 0, "unchanged": 0}
