"""Resumable jobs on a real MongoDB: steps applied once, progress visible, a crashed worker's job
finished by its successor, a finished job never run again."""
import time

import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from chassis.jobs import FAILED, RUNNING, SUCCEEDED, JobRun, JobStore, execute, resume_jobs, run_job, to_wire
from chassis.leases import LeaseLost


def make_widgets(widget_cls, ids, calls, stop_after=None):
    """Steps that insert one widget per id (so a step applied twice would hit the unique _id)."""

    def steps(run: JobRun):
        run.set_total(len(ids))
        for n, widget_id in enumerate(ids):
            if stop_after is not None and n == stop_after:
                raise SystemExit("worker killed")  # the process dies between two steps
            run.step(str(widget_id), lambda uow, i=widget_id: (calls.append(i), uow.insert(widget_cls(id=i, name="w")),
                                                               {"made": i})[-1])
        return {"made": sorted(r["made"] for r in run.results())}

    return steps


def test_a_job_runs_its_steps_reports_progress_and_a_rerun_of_the_finished_job_changes_nothing(chassis_db,
                                                                                               widget_cls):
    calls = []
    job = run_job("customer", "make-widgets", {"n": 3}, make_widgets(widget_cls, [1, 2, 3], calls))
    assert job["_id"].startswith("customer-")
    assert (job["status"], job["progress"], job["report"]) == (
        SUCCEEDED, {"processed": 3, "failed": 0, "total": 3}, {"made": [1, 2, 3]})
    assert job["started_at"] <= job["finished_at"] and job["attempts"] == 1

    again = run_job("customer", "make-widgets", {"n": 3}, make_widgets(widget_cls, [1, 2, 3], calls),
                    job_id=job["_id"])
    assert again == job
    assert calls == [1, 2, 3] and widget_cls.objects.count() == 3


def test_a_job_left_by_a_crashed_worker_is_finished_by_the_next_one_without_repeating_a_step(chassis_db,
                                                                                           widget_cls):
    store, calls = JobStore("customer", lease_seconds=0.5), []
    job = store.create("make-widgets", {})
    with pytest.raises(SystemExit):
        execute(store, job["_id"], make_widgets(widget_cls, [1, 2, 3, 4], calls, stop_after=2), owner="crashed")
    left = store.get(job["_id"])
    assert (left["status"], left["progress"]["processed"], left["owner"]) == (RUNNING, 2, "crashed")

    assert resume_jobs("customer", {"make-widgets": make_widgets(widget_cls, [1, 2, 3, 4], calls)},
                       store=JobStore("customer", lease_seconds=0.5), owner="successor") == [], \
        "the crashed worker's lease has not expired yet"
    time.sleep(0.7)
    [finished] = resume_jobs("customer", {"make-widgets": make_widgets(widget_cls, [1, 2, 3, 4], calls)},
                             store=store, owner="successor")
    assert (finished["status"], finished["progress"]["processed"], finished["attempts"]) == (SUCCEEDED, 4, 2)
    assert finished["report"] == {"made": [1, 2, 3, 4]}
    assert calls == [1, 2, 3, 4], "each step ran once across both workers"


def test_a_worker_whose_job_was_taken_over_commits_nothing_more(chassis_db, widget_cls):
    store = JobStore("customer", lease_seconds=0.2)
    job = store.create("make-widgets", {})
    slow = store.claim("slow", job_id=job["_id"])
    run = JobRun(store, slow, "slow")
    run.step("1", lambda uow: uow.insert(widget_cls(id=1, name="w")))
    time.sleep(0.3)
    assert store.claim("successor", job_id=job["_id"])["owner"] == "successor"
    with pytest.raises(LeaseLost):
        run.step("2", lambda uow: uow.insert(widget_cls(id=2, name="w")))
    assert [w.id for w in widget_cls.objects] == [1], "the step's effect rolled back with its record"


def test_a_typed_error_fails_one_item_with_its_reason_and_the_job_goes_on(chassis_db, widget_cls):
    def steps(run: JobRun):
        for widget_id in (1, 2, 3):
            def make(uow, i=widget_id):
                if i == 2:
                    raise Conflict("widget 2 is locked by an unpaid invoice")
                uow.insert(widget_cls(id=i, name="w"))
            run.step(str(widget_id), make)
        return {}

    job = run_job("customer", "make-widgets", {}, steps)
    assert job["status"] == SUCCEEDED
    assert job["progress"] == {"processed": 3, "failed": 1, "total": None}
    assert [(f["item"], f["reason"]) for f in job["failures"]] == [("2", "widget 2 is locked by an unpaid invoice")]
    assert sorted(w.id for w in widget_cls.objects) == [1, 3]


def test_an_unexpected_error_fails_the_job_with_the_error(chassis_db):
    def steps(run: JobRun):
        raise RuntimeError("disk full")

    job = run_job("customer", "broken", {}, steps)
    assert (job["status"], job["error"]) == (FAILED, "RuntimeError: disk full")
    assert job["finished_at"] is not None


def test_jobs_are_listed_newest_first_by_kind_and_status_and_read_by_id(chassis_db):
    store = JobStore("customer")
    first = run_job("customer", "a", {}, lambda run: {}, store=store)
    second = run_job("customer", "b", {}, lambda run: {}, store=store)
    queued = store.create("a", {"later": True})
    assert [j["_id"] for j in store.listing()[0]] == [queued["_id"], second["_id"], first["_id"]]
    assert [j["_id"] for j in store.listing(kind="a", status=SUCCEEDED)[0]] == [first["_id"]]
    assert store.listing(kind="a", offset=1, limit=1) == ([store.get(first["_id"])], 2)
    wire = to_wire(store.get(first["_id"]))
    assert (wire["id"], wire["service"], wire["kind"], wire["status"]) == (first["_id"], "customer", "a", SUCCEEDED)
    assert wire["createdAt"].endswith("+00:00")
    with pytest.raises(ValidationFailed):
        store.listing(status="exploded")
    with pytest.raises(NotFound):
        store.get("customer-nope")
    with pytest.raises(ValidationFailed):
        store.create("a", {}, job_id="billing-123")
