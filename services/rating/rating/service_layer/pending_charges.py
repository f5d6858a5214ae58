"""Real-time charging's postpaid charges reach billing summed, not one per commit (decision 0415).

A charging batch holds one or two commits, so a `usage.charged` per batch would be about one message per usage
event. Instead a committed postpaid record carries `pending_charge` (its cycle and units charged), written in the
commit's own transaction, and the worker's timer flushes what waits once the oldest has waited
`RATING_CHARGE_FLUSH_SECONDS`: in one transaction it sums the marked records per (billing profile, cycle,
service, resource), records one `usage.charged` per sum in the outbox, and unmarks the records, naming on each
the event that carried it (`charged_in`). A crash before the commit changes nothing and the next flush takes
the same records; two flushes taking the same records conflict in MongoDB and the later one runs again on what
is left, so a charge reaches billing exactly once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chassis.clock import utc_now
from chassis.money import from_storage
from chassis.mongo import UnitOfWork, database, transaction
from rating.domain.charges import ChargeSums, charge_head

USAGE = "usage"
PENDING = "pending_charge"
INDEX = "pending_charges"  # of the waiting records only (rating.adapters.indexes)
FLUSH_LIMIT = 1000  # records per transaction: a transaction stays short whatever the backlog
_FIELDS = {"billing_profile_id": 1, "customer_id": 1, "bill_id": 1, "balance_group_id": 1, "service_id": 1,
           "service_identifier": 1, "service_type": 1, "resource": 1, "currency": 1, "charged": 1, "late": 1,
           "start_time": 1, PENDING: 1}


def flush_pending_charges(window: timedelta = timedelta(0), now: datetime | None = None,
                          limit: int = FLUSH_LIMIT) -> int:
    """Once the oldest waiting record is `window` old (as of `now`), send billing what every waiting record
    charges, `limit` records per transaction, until none waits. Returns how many were flushed.

    The window is what sums a service's commits: a network element commits a session every few minutes, so a
    flush every second would still carry about one commit per message."""
    now = now or utc_now()
    oldest = database()[USAGE].find_one({PENDING: {"$exists": True}}, {"created_at": 1}, sort=[("created_at", 1)])
    if oldest is None or oldest["created_at"] > now - window:
        return 0
    flushed = 0
    while True:
        count = transaction(lambda uow: _flush(uow, limit), source="rating")
        flushed += count
        if count < limit:
            return flushed


def _flush(uow: UnitOfWork, limit: int) -> int:
    usage = uow.collection(USAGE)
    # A service's records together, so that a flush of a large backlog, cut into transactions of `limit`
    # records, still sums each service's commits into one message. Only the waiting records are scanned (the
    # partial index) and sorted in memory, `limit` at most.
    records = list(usage.find({PENDING: {"$exists": True}}, _FIELDS, session=uow.session).hint(INDEX)
                   .sort([("billing_profile_id", 1), ("service_id", 1)]).limit(limit))
    if not records:
        return 0
    sums, members = sum_records(records)
    events = uow.publish_many(sums.events())
    marks = [{"q": {"_id": {"$in": ids}, PENDING: {"$exists": True}},
              "u": {"$unset": {PENDING: ""}, "$set": {"charged_in": event.id}}, "multi": True}
             for ids, event in zip(members, events, strict=True)]
    reply = uow.db.command("update", USAGE, updates=marks, ordered=True, session=uow.session)
    if reply.get("nModified") != len(records):  # cannot happen inside a transaction: say so if it ever does
        raise RuntimeError(f"{reply.get('nModified')} of {len(records)} pending charges unmarked")
    return len(records)


def sum_records(records: list[dict[str, Any]]) -> tuple[ChargeSums, list[list[str]]]:
    """(the records' charges summed per billing profile, cycle, service and resource; the ids each sum holds,
    in the sums' order)."""
    sums = ChargeSums()
    members: dict[Any, list[str]] = {}
    for record in records:
        pending = record[PENDING]
        key = (record["billing_profile_id"], pending["cycle_start"], record["service_id"], record["resource"])
        sums.add(key, partial(_head, record), from_storage(pending["units"]), from_storage(record["charged"]),
                 record["late"], record["start_time"])
        members.setdefault(key, []).append(record["_id"])
    return sums, list(members.values())  # both keyed in the order first seen


def _head(record: dict[str, Any]) -> dict[str, Any]:
    return charge_head(record["billing_profile_id"], record["customer_id"], record["bill_id"],
                       record["balance_group_id"], record["service_id"], record["service_identifier"],
                       record["service_type"], record["resource"], record["currency"])
