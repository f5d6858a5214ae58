"""Resumable jobs on a real MongoDB: steps applied once, progress visible, a crashed worker's job
finished by its successor, a finished job never run again."""
import time

import pytest

from chassis.errors import Conflict, NotFound, ValidationFailed
from chassis.jobs import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    ItemFailed,
    JobRun,
    JobStore,
    execute,
    resume_jobs,
    run_job,
    to_wire,
)
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


def test_a_batch_step_does_many_items_in_one_transaction_tallies_their_outcomes_and_skips_done_ones(
        chassis_db, widget_cls):
    store = JobStore("customer")
    job, created = store.create_once("make-widgets", {}, total=5)
    assert created and job["progress"] == {"processed": 0, "failed": 0, "total": 5}
    assert store.create_once("make-widgets", {}, job_id=job["_id"])[1] is False, "the second start finds the job"
    run = JobRun(store, store.claim("w", job_id=job["_id"]), "w")
    given = []

    def make(uow, keys):
        given.append(list(keys))
        uow.collection(widget_cls).insert_many([{"_id": int(k), "name": "w"} for k in keys], session=uow.session)
        return {k: {"size": "big" if int(k) > 2 else "small"} for k in keys}

    run.steps(["1", "2", "3"], make, outcome=lambda r: r["size"])
    run.steps(["2", "3", "4", "5"], make, outcome=lambda r: r["size"])
    assert given == [["1", "2", "3"], ["4", "5"]], "done items are never given to a step again"
    assert run.done_keys() == {"1", "2", "3", "4", "5"}
    now = store.get(job["_id"])
    assert now["progress"] == {"processed": 5, "failed": 0, "total": 5}
    assert now["outcomes"] == {"small": 2, "big": 3} and to_wire(now)["outcomes"] == {"small": 2, "big": 3}


def test_a_typed_error_in_a_batch_is_narrowed_to_the_item_that_causes_it(chassis_db, widget_cls):
    store = JobStore("customer")
    run = JobRun(store, store.claim("w", job_id=store.create("make-widgets", {})["_id"]), "w")

    def make(uow, keys):
        if "2" in keys:
            raise Conflict("widget 2 is locked")
        uow.collection(widget_cls).insert_many([{"_id": int(k), "name": "w"} for k in keys], session=uow.session)
        return {k: "made" for k in keys}

    results = run.steps(["1", "2", "3"], make)
    assert results["1"] == results["3"] == "made" and results["2"].reason == "widget 2 is locked"
    assert sorted(w.id for w in widget_cls.objects) == [1, 3]
    left = store.get(run.id)
    assert left["progress"] == {"processed": 3, "failed": 1, "total": None}
    assert [f["item"] for f in left["failures"]] == ["2"]


def test_a_batch_that_is_one_piece_fails_all_its_items_and_keeps_what_each_failure_was(chassis_db, widget_cls):
    store = JobStore("customer")
    run = JobRun(store, store.claim("w", job_id=store.create("file", {})["_id"]), "w")

    def write_file(uow, keys):
        raise Conflict("the file was taken")

    assert set(run.steps(["a", "b"], write_file, split=False)) == {"a", "b"}
    run.steps(["c", "d"], lambda uow, keys: {"c": ItemFailed("no mandate", {"field": "mandateId"})})
    assert sorted(run.failed_steps()) == [("a", "the file was taken", {}), ("b", "the file was taken", {}),
                                          ("c", "no mandate", {"field": "mandateId"})]
    assert store.get(run.id)["progress"] == {"processed": 4, "failed": 3, "total": None}


def test_an_uncounted_step_runs_once_and_leaves_progress_alone(chassis_db):
    store = JobStore("customer")
    run = JobRun(store, store.claim("w", job_id=store.create("file", {})["_id"]), "w")
    calls = []
    assert run.step("completed", lambda uow: calls.append(1) or "published", counted=False) == "published"
    assert run.step("completed", lambda uow: calls.append(1) or "published", counted=False) is None
    assert calls == [1] and store.get(run.id)["progress"]["processed"] == 0


def test_a_failed_job_queued_again_resumes_after_its_done_steps(chassis_db, widget_cls):
    store, calls, broken = JobStore("customer"), [], [True]

    def steps(run: JobRun):
        for widget_id in (1, 2):
            if widget_id == 2 and broken[0]:
                raise RuntimeError("database went away")
            run.step(str(widget_id), lambda uow, i=widget_id: (calls.append(i), uow.insert(widget_cls(id=i, name="w"))))
        return {"made": len(calls)}

    job = run_job("customer", "make-widgets", {}, steps, store=store)
    assert job["status"] == FAILED and store.requeue(job["_id"]) is True
    assert store.requeue(job["_id"]) is False, "only a failed job is queued again"
    broken[0] = False
    [again] = resume_jobs("customer", {"make-widgets": steps}, store=store)
    assert (again["status"], again["error"], again["attempts"], again["report"]) == (SUCCEEDED, None, 2, {"made": 2})
    assert calls == [1, 2]


def test_a_job_run_by_its_caller_is_held_from_its_creation_so_a_timer_cannot_take_it_first(chassis_db):
    seen = {}

    class TimerInTheWindow(JobStore):
        """A worker's timer looking for queued jobs the instant after the job is written."""

        def create_once(self, *args, **kwargs):
            made = super().create_once(*args, **kwargs)
            seen["timer"] = self.claim("timer", kinds=["collect"])
            return made

    job = run_job("chassis", "collect", {}, lambda run: {"done": True}, store=TimerInTheWindow("chassis"),
                  owner="caller")
    assert seen["timer"] is None
    assert (job["status"], job["report"], job["owner"], job["attempts"]) == (SUCCEEDED, {"done": True}, "caller", 1)
