"""Real-time charging (TMF654 names): reserve units for a service, commit the used part, release the rest.

A reservation holds credit on the balances it would draw (`held` on each balance document, and on the
sharing member's per-cycle counter), so rating and other reservations see that credit as taken. Every write
touches the balance documents themselves, so two concurrent reservations, or a reservation and a stream
batch, drawing the same balance conflict in MongoDB and the later one is retried on what the first committed:
credit is never promised twice. Postpaid grants what is asked (charges have no ceiling); prepaid grants what
the credit covers and denies when nothing is left. Reservations expire by themselves (`expire_reservations`,
run by the worker's timer); an expired reservation can no longer be committed.
"""
from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

from chassis.clock import utc_now
from chassis.errors import Conflict, NotFound, PlatformError, ValidationFailed
from chassis.money import from_storage, shown_from_storage, to_storage
from chassis.mongo import UnitOfWork, Updated, database, transaction
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache
from rating.adapters.reservation_cache import ReservationCache
from rating.domain.engine import PREPAID, Rating, rate
from rating.domain.usage import UsageRejected
from rating.schemas import COMMIT_FIELDS, RESERVATION_FIELDS
from rating.service_layer.rating_batch import BatchRating, check_event, only_duplicate_keys, refuse_bad_input
from rating.service_layer.usage import usage_wire

SOURCE = "rating"
COLLECTION = "reservations"
DEFAULT_TTL = timedelta(seconds=60)
MAX_TTL = timedelta(hours=1)


def _bad(problem: UsageRejected) -> Exception:
    if problem.field is None:
        return Conflict(f"denied: {problem.reason}")
    return ValidationFailed("the reservation is not valid", {problem.field: problem.reason})


def _event(payload: dict[str, Any], event_id: Any, quantity: Any, start: str) -> dict[str, Any]:
    fields = payload.get("fields")
    return {"id": event_id, "serviceType": payload.get("serviceType"),
            "serviceIdentifier": payload.get("serviceIdentifier"), "startTime": start, "quantity": quantity,
            "fields": {} if fields is None else fields}


def _given(value: Any, default: str) -> Any:
    # An id left out (or empty) takes its default; any other value is the usage parser's to check.
    return default if value is None or value == "" else value


# A commit's problems named as the commit's members, not as the usage event's they become.
_COMMIT_NAMES = {"quantity": "used", "id": "usageId"}


def _decimal_string(value: Any, name: str) -> Any:
    # ReservationCreate / ReservationCommit take decimal strings only, as over HTTP (a usage event of the stream
    # may give a whole quantity as a JSON integer); the usage parser checks the rest.
    if isinstance(value, int):
        raise ValidationFailed("the reservation is not valid", {name: "must be a decimal string"})
    return value


def _unknown(payload: dict[str, Any], known: frozenset[str]) -> None:
    """ReservationCreate / ReservationCommit refuse other members, as the gateway does over HTTP."""
    unknown = sorted(set(payload) - known)
    if unknown:
        raise ValidationFailed("the reservation is not valid", {unknown[0]: "is not a member of this request"})


def _wire(reservation: dict[str, Any]) -> dict[str, Any]:
    return {"id": reservation["_id"], "status": reservation["status"],
            "serviceIdentifier": reservation["event"]["serviceIdentifier"],
            "serviceType": reservation["event"]["serviceType"], "resource": reservation["resource"],
            "requested": shown_from_storage(reservation["requested"]),
            "granted": shown_from_storage(reservation["granted"]),
            "expiresAt": reservation["expires_at"].isoformat(), "usageId": reservation.get("usage_id")}


def reserve(payload: dict[str, Any], catalog: CatalogCache, lateness: timedelta) -> dict[str, Any]:
    """Hold credit for up to `quantity` of a service's usage. Idempotent on `id`."""
    return _one(reserve_many([payload], catalog, lateness))


def _one(answers: list[Any]) -> dict[str, Any]:
    [answer] = answers
    if isinstance(answer, PlatformError):
        raise answer
    return answer


def reserve_many(payloads: Sequence[Any], catalog: CatalogCache, lateness: timedelta,
                 inventory: InventoryCache | None = None) -> list[Any]:
    """Reserve for every payload in ONE transaction (group commit); one answer per payload, in order: the
    reservation, or the typed error refusing that payload alone. Reservations of the batch draw from the same
    book one after the other, so they never promise the same credit twice."""
    return charge_many(payloads, [], catalog, lateness, inventory)[0]


class _Stale(Exception):
    """What the batch took from the process's reservation cache did not hold in MongoDB (a write matched
    another document than it assumed): its transaction is abandoned and run again, careful (decision 0410)."""


Transact = Callable[..., Any]  # `chassis.mongo.transaction`, or `chassis.mongo_wire.WireTransactions.transaction`


def _retried(fn: Any, transact: Transact) -> Any:
    """`fn(uow, careful)` in a transaction; run again, careful, when it stored an id that already existed or
    found a reservation it took from the cache changed."""
    try:
        return transact(lambda uow: fn(uow, False), source=SOURCE)
    except _Stale:
        return transact(lambda uow: fn(uow, True), source=SOURCE)
    except (DuplicateKeyError, BulkWriteError) as error:
        if not only_duplicate_keys(error):
            raise
        # A concurrent transaction stored one of these ids (a reservation, a usage record) between our read and
        # our insert, or a commit's usage id was taken by other usage: run again, it is now seen as existing.
        return transact(lambda uow: fn(uow, True), source=SOURCE)


def _reservation_request(payload: Any, catalog: CatalogCache, now: datetime) -> tuple[str, timedelta, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed("a reservation is an object", {"body": "must be an object"})
    _unknown(payload, RESERVATION_FIELDS)
    ttl = _ttl(payload.get("ttlSeconds"))
    start = payload.get("startTime")
    start = now.isoformat() if start is None else start
    checked = check_event(_event(payload, _given(payload.get("id"), str(uuid.uuid4())),
                                 _decimal_string(payload.get("quantity"), "quantity"), start), catalog)
    if checked.problem is not None:
        raise _bad(checked.problem)
    assert checked.event is not None
    return checked.event.id, ttl, checked


def _hold_all(batch: BatchRating, wanted: list[tuple[int, str, timedelta, Any]], known: dict[str, Any],
              now: datetime, writes: list[Any]) -> list[tuple[int, Any]]:
    """Hold credit for the batch's new reservations in its book (after its commits and releases), one after
    the other; adds their inserts to `writes`."""
    answers: list[tuple[int, Any]] = []
    for index, reservation_id, ttl, checked in wanted:
        if reservation_id in known:  # idempotent: asked before (or earlier in this batch)
            answers.append((index, _wire(known[reservation_id])))
            continue
        try:
            reservation = _hold(batch, checked, reservation_id, ttl, now)
        except PlatformError as error:
            answers.append((index, error))
            continue
        known[reservation_id] = reservation
        # An upsert, not an insert: the batch's inserts and updates then go in one command. The id was read
        # absent in this transaction's snapshot (a concurrent insert of it is then a write conflict, retried), or
        # assumed absent since this process does not keep it: the write must then insert (`_check_writes`).
        writes.append({"q": {"_id": reservation_id}, "u": {"$setOnInsert": reservation}, "upsert": True})
        answers.append((index, _wire(reservation)))
    return answers


def _hold(batch: BatchRating, checked: Any, reservation_id: str, ttl: timedelta, now: datetime) -> dict[str, Any]:
    """Rate one reservation against the batch's book and hold what it grants in the book, so the batch's next
    reservations see it taken."""
    event = checked.event
    try:
        context = batch.context(event)
        as_of, _ = batch.timing(event, context.cycle)
    except UsageRejected as problem:
        raise _bad(problem) from None
    # Instants as MongoDB keeps them (to the millisecond): the cached reservation answers as a read one would.
    now = _to_millisecond(now)

    def attempt(quantity: Decimal) -> Rating:
        return rate(fields=checked.values, quantity=quantity, tariff=context.tariff, book=batch.book,
                    group_id=context.subscription["balance_group_id"], payment_type=context.payment_type,
                    as_of=as_of, share=context.share)

    granted, result = _largest_grant(attempt, event.quantity, context.payment_type)
    for impact in result.impacts:
        batch.hold(impact.balance_id, impact.amount)
    if context.share is not None and result.shared_used:
        batch.hold_shared(context.share.member_key, result.shared_used)
    return {
        "_id": reservation_id, "status": "active", "customer_id": context.subscription["customer_id"],
        "service_id": context.service["_id"], "resource": context.tariff.resource,
        "event": {**checked.raw, "fields": checked.raw.get("fields") or {}},
        "requested": to_storage(event.quantity), "granted": to_storage(granted),
        "holds": [{"balance_id": i.balance_id, "amount": to_storage(i.amount)} for i in result.impacts],
        "share_key": context.share.member_key if context.share is not None else None,
        "shared_held": to_storage(result.shared_used), "created_at": now, "expires_at": now + ttl}


def _ttl(value: Any) -> timedelta:
    if value is None:
        return DEFAULT_TTL
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL.total_seconds():
        raise ValidationFailed("not a valid time to live", {"ttlSeconds": "must be an integer from 1 to 3600"})
    return timedelta(seconds=value)


def _largest_grant(attempt: Any, requested: Decimal, payment_type: str) -> tuple[Decimal, Rating]:
    """The requested quantity if it can be rated; for prepaid, otherwise the largest whole quantity the
    credit covers (bisection: coverage only shrinks as the quantity grows)."""
    try:
        return requested, attempt(requested)
    except UsageRejected as problem:
        if payment_type != PREPAID or problem.field is not None:
            raise _bad(problem) from None
        denial = problem
    low, high = Decimal(0), requested.to_integral_value(rounding="ROUND_FLOOR")
    best: tuple[Decimal, Rating] | None = None
    while low <= high:
        middle = (low + high) // 2
        try:
            best = (middle, attempt(middle)) if middle > 0 else best
            low = middle + 1
        except UsageRejected:
            high = middle - 1
    if best is None:
        raise _bad(denial)
    return best


def _release_holds(uow: UnitOfWork, reservation: dict[str, Any]) -> None:
    _write_releases(uow, [reservation])


def _write_releases(uow: UnitOfWork, reservations: list[dict[str, Any]]) -> None:
    """Give back what `reservations` hold: one `$inc` per balance and per sharing counter."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    shared: dict[str, Decimal] = defaultdict(Decimal)
    for reservation in reservations:
        for hold in reservation["holds"]:
            held[hold["balance_id"]] += from_storage(hold["amount"])
        if reservation.get("share_key") and from_storage(reservation["shared_held"]):
            shared[reservation["share_key"]] += from_storage(reservation["shared_held"])
    if held:
        uow.update_documents("balances", [{"q": {"_id": b}, "u": {"$inc": {"held": to_storage(-amount)}}}
                                          for b, amount in held.items()])
    if shared:
        uow.update_documents("sharing_usage", [{"q": {"_id": key}, "u": {"$inc": {"held": to_storage(-amount)}}}
                                               for key, amount in shared.items()])


def commit(reservation_id: str, payload: dict[str, Any], catalog: CatalogCache,
           lateness: timedelta) -> dict[str, Any]:
    """Rate the used part of a reservation as one usage event and release the rest. Idempotent."""
    return _one(settle_many([(COMMIT, reservation_id, payload)], catalog, lateness))


def release(reservation_id: str) -> dict[str, Any]:
    """Give the whole reservation back. Idempotent; a committed reservation cannot be released."""
    return _one(settle_many([(RELEASE, reservation_id, None)], None, timedelta(0)))


COMMIT, RELEASE = "commit", "release"


class _Refused(Exception):
    """A commit whose event turns out to be bad input only once rated (say its service was suspended since the
    reservation): the batch's transaction is abandoned and run again without it."""

    def __init__(self, position: int, error: PlatformError):
        super().__init__(position, error)
        self.position, self.error = position, error


def settle_many(requests: Sequence[tuple[str, str, Any]], catalog: CatalogCache | None,
                lateness: timedelta, inventory: InventoryCache | None = None,
                reservations: ReservationCache | None = None) -> list[Any]:
    """Commit or release (`(COMMIT, id, payload)`, `(RELEASE, id, None)`) in ONE transaction; one answer per
    request, in order: the reservation, or the typed error refusing that request alone."""
    return charge_many([], requests, catalog, lateness, inventory, reservations)[1]


def charge_many(reserves: Sequence[Any], settles: Sequence[tuple[str, str, Any]], catalog: CatalogCache | None,
                lateness: timedelta, inventory: InventoryCache | None = None,
                reservations: ReservationCache | None = None, transact: Transact = transaction
                ) -> tuple[list[Any], list[Any]]:
    """A batch of reservations and of commits and releases in ONE transaction (decision 0409): one read per
    collection, one book, one write per collection. Commits and releases are settled first, then the
    reservations draw from what is left, one after the other. Returns (one answer per reserve, one per
    settle), in order: the reservation, or the typed error refusing that request alone. A reservation named
    twice among `settles` is settled again in a following transaction, exactly as if the requests had come
    one after another. With `reservations` (the charging process), the reservations it keeps are not read but
    verified by the batch's writes (decision 0410). `transact` runs the transactions: the charging process
    writes them on the wire (decision 0022)."""
    now = utc_now()
    reserved: list[Any] = [None] * len(reserves)
    wanted: list[tuple[int, str, timedelta, Any]] = []
    for index, payload in enumerate(reserves):
        assert catalog is not None  # only a release goes without one
        try:
            wanted.append((index, *_reservation_request(payload, catalog, now)))
        except PlatformError as error:
            reserved[index] = error
    settled: dict[int, Any] = {}
    waiting = list(range(len(settles)))
    while wanted or waiting:
        round_: list[int] = []
        later: list[int] = []
        seen: set[str] = set()
        for position in waiting:
            (later if settles[position][1] in seen else round_).append(position)
            seen.add(settles[position][1])
        while True:
            try:
                held, answers, left = _retried(lambda uow, careful, chosen=round_, asked=wanted: _charge_all(
                    uow, asked, [(p, *settles[p]) for p in chosen], catalog, now, lateness, inventory, careful,
                    None if careful else reservations), transact)
                break
            except _Refused as refused:
                settled[refused.position] = refused.error
                round_ = [p for p in round_ if p != refused.position]
        if reservations is not None:  # only now: the transaction committed
            reservations.update(left)
        for index, answer in held:
            reserved[index] = answer
        settled.update(answers)
        wanted, waiting = [], later
    return reserved, [settled[position] for position in range(len(settles))]


def _reservations(uow: UnitOfWork, wanted: list[tuple[int, str, timedelta, Any]],
                  requests: list[tuple[int, str, str, Any]], kept: ReservationCache | None, now: datetime
                  ) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """(the reservations the batch names that exist, the ids of those taken from `kept` unread). Without `kept`
    all are read. With it, a reservation it keeps active (and not yet expired) is not read, and a
    new reservation's id it does not keep is taken as unused; a reserve naming an id it keeps is a repeated
    request, answered from MongoDB."""
    settling = {rid for _, _, rid, _ in requests}
    reserving = {rid for _, rid, _, _ in wanted}
    cached: dict[str, dict[str, Any]] = {}
    if kept is not None:
        cached = {rid: r for rid, r in kept.active(settling).items() if r["expires_at"] > now}
        reserving = {rid for rid in reserving if rid in kept}
    ids = sorted((settling - set(cached)) | reserving)
    found = {r["_id"]: r for r in uow.find_documents(COLLECTION, {"_id": {"$in": ids}})} if ids else {}
    return {**found, **cached}, set(cached)


def _charge_all(uow: UnitOfWork, wanted: list[tuple[int, str, timedelta, Any]],
                requests: list[tuple[int, str, str, Any]], catalog: CatalogCache | None, now: datetime,
                lateness: timedelta, inventory: InventoryCache | None, careful: bool, kept: ReservationCache | None
                ) -> tuple[list[tuple[int, Any]], dict[int, Any], list[dict[str, Any]]]:
    """One run of a batch's transaction (`careful`: every reservation and usage id read). Returns (the
    reserves' answers, the settles' answers, the reservations as the batch leaves them)."""
    found, assumed = _reservations(uow, wanted, requests, kept, now)
    answers: dict[int, Any] = {}
    releasing: list[dict[str, Any]] = []
    rating: list[tuple[int, dict[str, Any], Any]] = []  # commits to rate: (position, reservation, event)
    writes: list[Any] = []  # to the reservations: settled ones updated, new ones inserted
    shown: list[tuple[int, dict[str, Any]]] = []  # committed (now or before): answered with their usage record
    committed: dict[str, dict[str, Any]] = {}  # usage id -> record, of the commits of this batch
    for position, kind, reservation_id, payload in requests:
        reservation = found.get(reservation_id)
        try:
            if reservation is None:
                raise NotFound(f"reservation {reservation_id} does not exist")
            if kind == RELEASE:
                if reservation["status"] == "committed":
                    raise Conflict(f"reservation {reservation_id} is already committed")
                if reservation["status"] == "active":
                    releasing.append(reservation)
                    reservation = found[reservation_id] = {**reservation, "status": "released"}
                    writes.append(_settling(reservation_id, {"status": "released", "settled_at": now}))
                answers[position] = _wire(reservation)
                continue
            assert catalog is not None
            checked = _commit_request(reservation, reservation_id, payload, catalog, now)
            if checked is None:
                shown.append((position, reservation))
                continue
            releasing.append(reservation)
            rating.append((position, reservation, checked))
        except PlatformError as error:
            if reservation_id in assumed:
                # Refused on what the cache said: no write verifies it, so it is decided on a fresh read (the
                # reservation may have been committed by another replica meanwhile).
                raise _Stale(reservation_id) from None
            answers[position] = error
    # Postpaid commits are marked, not published: the worker sums them for billing (decision 0415).
    batch = BatchRating(uow, catalog, now, lateness, "charging", inventory,  # type: ignore[arg-type]
                        defer_charges=True)
    commits = [checked for _, _, checked in rating]
    # An active reservation's own id has no usage record yet (its commit writes both at once): only a usage id
    # the caller chose is looked up, unless a first run found one taken anyway (`careful`).
    existing = batch.existing([c for c in commits if careful or c.event.id not in found])
    batch.load([c.event for c in commits if c.event.id not in existing]
               + [checked.event for _, rid, _, checked in wanted if rid not in found], thresholds=bool(commits))
    for reservation in releasing:
        _give_back(batch, reservation)
    outcomes, records = batch.rate_all(commits, existing)
    for (position, reservation, checked), outcome in zip(rating, outcomes, strict=True):
        try:
            refuse_bad_input([outcome])
        except ValidationFailed as error:
            if reservation["_id"] in assumed:  # refused, unverified: it may have been committed elsewhere
                raise _Stale(reservation["_id"]) from None
            raise _Refused(position, error) from None
        settled = {"status": "committed", "usage_id": outcome.id, "used": to_storage(checked.event.quantity),
                   "settled_at": now}
        writes.append(_settling(reservation["_id"], settled))
        if outcome.record is not None and outcome.id is not None:
            committed[outcome.id] = _as_stored(outcome.record)
        found[reservation["_id"]] = {**reservation, **settled}
        shown.append((position, found[reservation["_id"]]))
    settling = len(writes)
    held = _hold_all(batch, wanted, found, now, writes)
    batch.write(records)
    if writes:
        _check_writes(uow.update_documents(COLLECTION, writes), settling, len(writes))
    earlier = [r["usage_id"] for _, r in shown if r["usage_id"] not in committed]
    if earlier:  # committed before (a repeated commit): answered with the record as stored then
        committed.update((r["_id"], r) for r in uow.find_documents("usage", {"_id": {"$in": earlier}}))
    for position, reservation in shown:
        answers[position] = {**_wire(reservation), "usage": usage_wire(committed[reservation["usage_id"]])}
    return held, answers, list(found.values())


def _settling(reservation_id: str, change: dict[str, Any]) -> dict[str, Any]:
    # Only an active reservation is settled: a cached one may have been expired or settled elsewhere since.
    return {"q": {"_id": reservation_id, "status": "active"}, "u": {"$set": change}}


def _check_writes(result: Updated, settling: int, total: int) -> None:
    """The reservations' bulk write: the first `settling` writes settle active reservations, each must match;
    the rest insert new ones, each must insert. Otherwise what the batch assumed (from the cache) was wrong."""
    if result.matched != settling or set(result.upserted) != set(range(settling, total)):
        raise _Stale(f"{result.matched} of {settling} settled, {len(result.upserted)} of {total - settling} new")


def _give_back(batch: BatchRating, reservation: dict[str, Any]) -> None:
    """Release what a reservation holds in the batch's book (written with the batch's other balance changes)."""
    for hold in reservation["holds"]:
        batch.hold(hold["balance_id"], -from_storage(hold["amount"]))
    if reservation.get("share_key") and from_storage(reservation["shared_held"]):
        batch.hold_shared(reservation["share_key"], -from_storage(reservation["shared_held"]))


def _as_stored(record: dict[str, Any]) -> dict[str, Any]:
    """A usage record just written, as a read would return it, without the read: a repeated commit answers
    from the stored record, and both answers must be the same. What a read changes of a new record is its two
    instants (BSON keeps milliseconds; both are UTC already); the rest (strings, numbers, Decimal128, the
    checked fields) reads back as written, so no BSON round trip (a third of a commit's encoding)."""
    return {**record, "created_at": _to_millisecond(record["created_at"]),
            "start_time": _to_millisecond(record["start_time"])}


def _to_millisecond(instant: datetime) -> datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _commit_request(reservation: dict[str, Any], reservation_id: str, payload: Any, catalog: CatalogCache,
                    now: datetime) -> Any:
    """The usage event a commit rates, or None when the reservation was committed before (idempotent)."""
    if reservation["status"] == "active" and reservation["expires_at"] <= now:
        raise Conflict(f"reservation {reservation_id} has expired")
    if reservation["status"] == "committed":
        return None
    if reservation["status"] != "active":
        raise Conflict(f"reservation {reservation_id} is {reservation['status']}")
    payload = payload if isinstance(payload, dict) else {}
    _unknown(payload, COMMIT_FIELDS)
    template = reservation["event"]
    checked = check_event(_event(template, _given(payload.get("usageId"), reservation_id),
                                 _decimal_string(payload.get("used"), "used"), template["startTime"]), catalog)
    if checked.problem is not None:
        named = checked.problem.field
        field = _COMMIT_NAMES.get(named, named) if named else "used"
        raise ValidationFailed("the commit is not valid", {field: checked.problem.reason})
    assert checked.event is not None
    if checked.event.quantity > from_storage(reservation["granted"]):
        raise ValidationFailed("more used than granted", {"used": f"must not exceed {_wire(reservation)['granted']}"})
    return checked


def expire_reservations(now: datetime | None = None, limit: int = 500) -> int:
    """Release the holds of reservations past their expiry; returns how many expired."""
    now = now or utc_now()
    overdue = [r["_id"] for r in database()[COLLECTION].find(
        {"status": "active", "expires_at": {"$lte": now}}, {"_id": 1}).limit(limit)]

    def expire(uow: UnitOfWork, reservation_id: str) -> int:
        reservation = uow.collection(COLLECTION).find_one({"_id": reservation_id, "status": "active"},
                                                          session=uow.session)
        if reservation is None:
            return 0
        _release_holds(uow, reservation)
        uow.collection(COLLECTION).update_one({"_id": reservation_id}, {"$set": {
            "status": "expired", "settled_at": now}}, session=uow.session)
        return 1

    return sum(transaction(functools.partial(expire, reservation_id=rid), source=SOURCE) for rid in overdue)
