"""Resumable jobs: long work (account purge, bill run, payment collection, SEPA export) that operators
can watch and that a crashed worker's successor finishes.

A job is one document in the service's `jobs` collection:

    {"_id": "<service>-<32 hex>", "kind", "params", "status": queued|running|succeeded|failed,
     "progress": {"processed", "failed", "total"}, "outcomes": {"<label>": n},
     "failures": [{"item", "reason", "at"}], "report", "error", "owner", "lease_until", "attempts",
     "created_at", "started_at", "finished_at", "updated_at"}

The id starts with the owning service's name, so the gateway knows which service to ask
(`GET /api/v1/jobs/{id}`, decision 0011). Work is split into steps with stable keys (a customer id, a
billing profile id): `run.step(key, fn)` runs `fn(uow)` in one MongoDB transaction together with the
record that the step is done and the progress count, so a step's effect and its record commit or
vanish together and a resumed job skips what is done. `run.steps(keys, fn)` does the same for a batch
of items in one transaction (a bill run bills a hundred profiles per transaction); `outcome` tallies
what the items came to (`outcomes`: billed, declined, …) in that same transaction, so the counts stay
exact across a crash. The worker holds the job by a lease (`chassis.leases`) renewed by every step;
after a crash the lease expires and `resume_jobs` (or running the job again) takes the job over. A
rerun of a finished job changes nothing.

    def purge(run: JobRun) -> dict:
        due = find_due_ids()
        run.set_total(len(due))
        for customer_id in due:
            run.step(str(customer_id), lambda uow: delete_one(uow, customer_id))
        return {"purged": run.progress["processed"]}

    job = run_job("customer", "purge-closed-accounts", {"asOf": now.isoformat()}, purge)
"""
from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import DESCENDING
from pymongo.database import Database

from chassis.clock import utc_now
from chassis.errors import NotFound, PlatformError, ValidationFailed
from chassis.leases import LeaseLost, Leases
from chassis.mongo import JOB_STEPS, JOBS, UnitOfWork, database, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
LEASE_SECONDS = 60.0
MAX_FAILURES_KEPT = 1000  # the count is exact; only the first reasons are kept on the job document
StepFailure = PlatformError  # a typed error in a step fails that item, not the whole job
Steps = Callable[["JobRun"], Mapping[str, Any] | None]
NEVER_HELD = datetime(1970, 1, 1, tzinfo=UTC)  # a queued job's lease: expired, so any worker may claim it
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")  # an outcome label is a field name in the job document


@dataclass(frozen=True)
class ItemFailed:
    """What a batch step returns for an item it could not do: the item fails with `reason` (kept on the
    job's failures) and `detail` (kept on the step's record, for the job's own report)."""

    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobStore:
    """The jobs of one service, in its own database."""

    def __init__(self, service: str, db: Database | None = None, lease_seconds: float = LEASE_SECONDS) -> None:
        self.service = service
        self.db = db if db is not None else database()
        self.leases = Leases(self.db[JOBS], lease_seconds)

    # -- creating and reading -----------------------------------------------------------------
    def create(self, kind: str, params: Mapping[str, Any], job_id: str | None = None,
               total: int | None = None) -> dict[str, Any]:
        """A queued job; with a `job_id` chosen by the caller, the job of that id if it exists already."""
        return self.create_once(kind, params, job_id, total)[0]

    def create_once(self, kind: str, params: Mapping[str, Any], job_id: str | None = None,
                    total: int | None = None, owner: str | None = None) -> tuple[dict[str, Any], bool]:
        """Like `create`, and whether this call created the job (False: it existed already). With an
        `owner`, a job this call creates is running and held by that owner from its first instant, so no
        other worker (a timer that runs queued jobs) can claim it between its creation and its run."""
        job_id = job_id or f"{self.service}-{uuid.uuid4().hex}"
        if not job_id.startswith(f"{self.service}-"):
            raise ValidationFailed(f"a {self.service} job id starts with '{self.service}-'", {"jobId": "prefix"})
        now = utc_now()
        state: dict[str, Any] = {"status": QUEUED, "owner": None, "lease_until": NEVER_HELD, "attempts": 0,
                                 "started_at": None}
        if owner is not None:
            state = {"status": RUNNING, "owner": owner, "lease_until": now + self.leases.duration, "attempts": 1,
                     "started_at": now}
        done = self.db[JOBS].update_one({"_id": job_id}, {"$setOnInsert": {
            "kind": kind, "params": dict(params), **state,
            "progress": {"processed": 0, "failed": 0, "total": total}, "outcomes": {}, "failures": [],
            "report": None, "error": None, "created_at": now, "finished_at": None, "updated_at": now}}, upsert=True)
        return self.get(job_id), done.upserted_id is not None

    def requeue(self, job_id: str) -> bool:
        """Queue a failed job again (its cause fixed): the next run resumes it, skipping the steps that are
        done. False when the job has not failed."""
        done = self.db[JOBS].update_one({"_id": job_id, "status": FAILED}, {"$set": {
            "status": QUEUED, "error": None, "finished_at": None, "owner": None, "lease_until": NEVER_HELD,
            "updated_at": utc_now()}})
        return done.modified_count == 1

    def get(self, job_id: str) -> dict[str, Any]:
        job = self.db[JOBS].find_one({"_id": job_id})
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        return job

    def listing(self, kind: str | None = None, status: str | None = None, offset: int = 0,
             limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        if status is not None and status not in STATUSES:
            raise ValidationFailed(f"status is one of {', '.join(STATUSES)}", {"status": "unknown status"})
        query = {k: v for k, v in (("kind", kind), ("status", status)) if v is not None}
        cursor = self.db[JOBS].find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        return list(cursor.skip(offset).limit(limit)), self.db[JOBS].count_documents(query)

    # -- running ------------------------------------------------------------------------------
    def claim(self, owner: str, job_id: str | None = None, kinds: list[str] | None = None) -> dict[str, Any] | None:
        """Take a queued job, or a running one whose worker stopped renewing its lease."""
        query: dict[str, Any] = {"status": {"$in": [QUEUED, RUNNING]}}
        if job_id is not None:
            query["_id"] = job_id
        if kinds is not None:
            query["kind"] = {"$in": kinds}
        now = utc_now()
        job = self.leases.take(query, owner, changes={"status": RUNNING, "updated_at": now},
                               sort=[("created_at", 1)], reentrant=False, now=now)
        if job is not None:
            first = {"started_at": now} if job["started_at"] is None else {}
            self.leases.renew(job["_id"], owner, changes=first, increments={"attempts": 1})
            job = self.get(job["_id"])
        return job

    def finish(self, job: Mapping[str, Any], owner: str, status: str, report: Mapping[str, Any] | None = None,
               error: str | None = None) -> dict[str, Any]:
        now = utc_now()
        self.leases.renew(job["_id"], owner, changes={"status": status, "report": dict(report or {}) or None,
                                                      "error": error, "finished_at": now, "updated_at": now})
        self.leases.release(job["_id"], owner)
        return self.get(job["_id"])


class JobRun:
    """What a job's steps function works with: its parameters, idempotent steps, progress, failures."""

    def __init__(self, store: JobStore, job: dict[str, Any], owner: str) -> None:
        self.store, self.job, self.owner = store, job, owner
        self.id: str = job["_id"]
        self.params: dict[str, Any] = job["params"]

    @property
    def progress(self) -> dict[str, Any]:
        return self.store.get(self.id)["progress"]

    def heartbeat(self) -> None:
        """Renew the lease during a long step; LeaseLost when another worker took the job over."""
        self.store.leases.renew(self.id, self.owner, changes={"updated_at": utc_now()})

    def set_total(self, total: int) -> None:
        self.store.leases.renew(self.id, self.owner, changes={"progress.total": total, "updated_at": utc_now()})

    def is_done(self, key: str) -> bool:
        return self.store.db[JOB_STEPS].find_one({"_id": self._step_id(key)}, {"_id": 1}) is not None

    def done_keys(self) -> set[str]:
        """The keys of every step done (or failed) so far: what a resumed run leaves out."""
        return {record["key"] for record in self.store.db[JOB_STEPS].find({"job_id": self.id}, {"key": 1})}

    def step(self, key: str, fn: Callable[[UnitOfWork], T], *, source: str | None = None, counted: bool = True,
             outcome: Callable[[Any], str | None] | None = None) -> T | None:
        """Run `fn(uow)` once for this job: in one transaction with the step's record and the progress
        count. None when the step was done before (or failed before). A typed error (`PlatformError`)
        fails this item only: its reason is recorded and the job goes on. A step that is not an item of
        the job (publishing its completion) passes `counted=False`."""
        result = self.steps([key], lambda uow, keys: {key: fn(uow)}, source=source, counted=counted,
                            outcome=outcome).get(key)
        return None if isinstance(result, ItemFailed) else result

    def steps(self, keys: Sequence[str], fn: Callable[[UnitOfWork, list[str]], Mapping[str, Any] | None], *,
              source: str | None = None, counted: bool = True, outcome: Callable[[Any], str | None] | None = None,
              split: bool = True) -> dict[str, Any]:
        """Run `fn(uow, pending)` for the items of `keys` not done yet, in one transaction with their
        records and counts. `fn` answers per item: its result, or `ItemFailed(reason)`; an item it leaves
        out is done with no result. `outcome(result)` names what a done item came to (counted in the
        job's `outcomes`). A typed error for the whole batch is narrowed down by doing its items one by
        one (`split`), so only the item that causes it fails; with `split=False` it fails every item of
        the batch (for work that is one piece, like one file). Returns what `fn` answered."""
        keys = list(dict.fromkeys(keys))
        done = self._done_among(keys)
        keys = [key for key in keys if key not in done]
        if not keys:
            return {}

        def run(uow: UnitOfWork) -> dict[str, Any]:
            again = self._done_among(keys, uow)
            pending = [key for key in keys if key not in again]
            if not pending:
                return {}
            answered = dict(fn(uow, pending) or {})
            strays = set(answered) - set(pending)
            if strays:
                raise ValueError(f"a step answered for items it was not given: {sorted(strays)[:5]}")
            results = {key: answered.get(key) for key in pending}
            self._record(uow, results, counted, outcome)
            return results

        try:
            return transaction(run, source=source or self.store.service, db=self.store.db)
        except StepFailure as exc:
            reason = exc.detail if hasattr(exc, "detail") else str(exc)
            if split and len(keys) > 1:
                narrowed: dict[str, Any] = {}
                for key in keys:
                    narrowed.update(self.steps([key], fn, source=source, counted=counted, outcome=outcome))
                return narrowed
            failed = {key: ItemFailed(reason) for key in keys}

            def record_failed(uow: UnitOfWork) -> None:
                again = self._done_among(keys, uow)
                self._record(uow, {key: item for key, item in failed.items() if key not in again}, counted, None)

            transaction(record_failed, source=self.store.service, db=self.store.db)
            return failed

    def results(self) -> Iterator[Any]:
        """What the done steps returned (dicts, strings, numbers, booleans are kept), in no set order:
        a resumed run builds its report from them, not from counters of its own."""
        for record in self.store.db[JOB_STEPS].find({"job_id": self.id, "status": "done"}, {"result": 1}):
            yield record.get("result")

    def failed_steps(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """The items that failed so far: key, reason and the detail their step kept."""
        for record in self.store.db[JOB_STEPS].find({"job_id": self.id, "status": "failed"}).sort("at", 1):
            yield record["key"], record.get("reason") or "", record.get("detail") or {}

    def fail(self, key: str, reason: str) -> None:
        """Record that one item failed (it is not retried by a resumed run)."""

        def run(uow: UnitOfWork) -> None:
            if not self._done_among([key], uow):
                self._record(uow, {key: ItemFailed(reason)}, True, None)

        transaction(run, source=self.store.service, db=self.store.db)

    def _done_among(self, keys: list[str], uow: UnitOfWork | None = None) -> set[str]:
        steps = uow.collection(JOB_STEPS) if uow is not None else self.store.db[JOB_STEPS]
        found = steps.find({"_id": {"$in": [self._step_id(key) for key in keys]}}, {"key": 1},
                           session=uow.session if uow is not None else None)
        return {record["key"] for record in found}

    def _record(self, uow: UnitOfWork, results: Mapping[str, Any], counted: bool,
                outcome: Callable[[Any], str | None] | None) -> None:
        """The steps' records and the job's counts, conditional on the lease: a worker whose job was
        taken over commits nothing."""
        if not results:
            return
        now = utc_now()
        records, failures, tallies = [], [], Counter[str]()
        for key, result in results.items():
            record = {"_id": self._step_id(key), "job_id": self.id, "key": key, "at": now}
            if isinstance(result, ItemFailed):
                records.append({**record, "status": "failed", "reason": result.reason, "detail": result.detail})
                failures.append({"item": key, "reason": result.reason, "at": now})
                continue
            records.append({**record, "status": "done",
                            "result": result if isinstance(result, (dict, str, int, bool)) else None})
            label = outcome(result) if outcome is not None else None
            if label is not None:
                if not _LABEL.match(label):
                    raise ValueError(f"an outcome label is a plain name, not {label!r}")
                tallies[label] += 1
        uow.collection(JOB_STEPS).insert_many(records, session=uow.session)
        increments = {f"outcomes.{label}": n for label, n in tallies.items()}
        if counted:
            increments["progress.processed"] = len(records)
            if failures:
                increments["progress.failed"] = len(failures)
        push = {"failures": {"$each": failures, "$slice": MAX_FAILURES_KEPT}} if failures else None
        self.store.leases.renew(self.id, self.owner, increments=increments or None, push=push,
                                changes={"updated_at": now}, session=uow.session)

    def _step_id(self, key: str) -> str:
        return f"{self.id}/{key}"


def execute(store: JobStore, job_id: str, steps: Steps, owner: str | None = None) -> dict[str, Any]:
    """Run (or resume) one job if nobody else holds it; the job document afterwards."""
    owner = owner or worker_id()
    job = store.claim(owner, job_id=job_id)
    if job is None:
        return store.get(job_id)  # finished, or another worker holds a live lease
    return _run_claimed(store, job, steps, owner)


def _run_claimed(store: JobStore, job: dict[str, Any], steps: Steps, owner: str) -> dict[str, Any]:
    job_id = job["_id"]
    run = JobRun(store, job, owner)
    log.info("job started", extra={"job": job_id, "kind": job["kind"], "attempt": job["attempts"]})
    try:
        report = steps(run)
    except LeaseLost:
        log.warning("job taken over by another worker", extra={"job": job_id})
        return store.get(job_id)
    except Exception as exc:
        log.exception("job failed", extra={"job": job_id})
        return store.finish(job, owner, FAILED, error=f"{type(exc).__name__}: {exc}")
    done = store.finish(job, owner, SUCCEEDED, report=report)
    log.info("job succeeded", extra={"job": job_id, "progress": done["progress"]})
    return done


def run_job(service: str, kind: str, params: Mapping[str, Any], steps: Steps, *, job_id: str | None = None,
            store: JobStore | None = None, owner: str | None = None) -> dict[str, Any]:
    """Create the job (or find it, given its id) and run it to the end. A finished job is returned as is."""
    store, owner = store or JobStore(service), owner or worker_id()
    job, created = store.create_once(kind, params, job_id, owner=owner)
    if created:
        return _run_claimed(store, job, steps, owner)  # held from its creation: no timer can take it first
    if job["status"] in (SUCCEEDED, FAILED):
        return job
    return execute(store, job["_id"], steps, owner)


def resume_jobs(service: str, handlers: Mapping[str, Steps], *, store: JobStore | None = None,
                owner: str | None = None) -> list[dict[str, Any]]:
    """Finish every queued job and every job a crashed worker left (its lease expired)."""
    store, owner, finished = store or JobStore(service), owner or worker_id(), []
    while (job := store.claim(owner, kinds=list(handlers))) is not None:
        finished.append(_run_claimed(store, job, handlers[job["kind"]], owner))
    return finished


def to_wire(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job as the gateway shows it (contracts/http/gateway.d/jobs.yaml)."""

    def instant(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {"id": job["_id"], "service": job["_id"].partition("-")[0], "kind": job["kind"],
            "params": job["params"], "status": job["status"], "progress": dict(job["progress"]),
            "outcomes": dict(job.get("outcomes") or {}),
            "failures": [{"item": f["item"], "reason": f["reason"], "at": instant(f["at"])} for f in job["failures"]],
            "report": job["report"], "error": job["error"], "attempts": job["attempts"],
            "createdAt": instant(job["created_at"]), "startedAt": instant(job["started_at"]),
            "finishedAt": instant(job["finished_at"]), "updatedAt": instant(job["updated_at"])}
