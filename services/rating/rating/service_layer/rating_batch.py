"""Rating a batch of usage events in one MongoDB transaction: the hot path of the stream and of the API.

Per batch: validate every event (catalog service types from the in-process cache), then in one transaction
read what the batch needs with one query per collection (already rated ids, services, subscriptions, billing
cycles, sharing memberships, balances), rate each event in memory against a `BalanceBook`, and write the
usage records, one `$inc` per touched balance, the cycle's charge balances, sharing counters and one
`usage.charged` per (billing profile, cycle, service, resource; real-time charging marks its records for the
worker's flush instead, decision 0415) — all committed together. The event id is the
usage record's `_id`, so a redelivered batch changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo.errors import BulkWriteError, DuplicateKeyError

from chassis.clock import utc_now
from chassis.errors import ValidationFailed
from chassis.money import from_storage, to_storage
from chassis.mongo import UnitOfWork, transaction
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache
from rating.domain.balances import ZERO, Cycle, ValidityKind, calendar_month
from rating.domain.charges import ChargeSums, charge_head
from rating.domain.engine import POSTPAID, BalanceBook, Rating, Share, Tariff, rate
from rating.domain.usage import UsageEvent, UsageRejected, check_fields, parse_envelope
from rating.service_layer.balances import to_domain
from rating.service_layer.thresholds import ThresholdWatch

SOURCE = "rating"
USAGE = "usage"
FUTURE_TOLERANCE = timedelta(minutes=5)
ACTIVE = "active"
DUPLICATE_KEY = 11000

# Only what rating reads of each document: decoding the rest (a subscription's whole product snapshot with its
# Decimal128s) is most of a batch's read time.
_fields = dict.fromkeys
SERVICE_FIELDS = _fields(("service_type", "identifier", "status", "valid_from", "valid_to", "subscription_id",
                          "customer_id"), 1)
SUBSCRIPTION_FIELDS = _fields(("customer_id", "balance_group_id", "billing_profile_id", "status", "payment_type",
                               "products.service_id", "products.type", "products.purchased", "products.status",
                               "products.code", "products.version"), 1)
BALANCE_FIELDS = _fields(("balance_group_id", "resource", "amount", "held", "valid_from", "valid_to", "created_at",
                          "priority", "validity"), 1)
GROUP_FIELDS = _fields(("customer_id", "billing_profile_id", "credit_profile"), 1)


@dataclass(slots=True)
class Outcome:
    """What happened to one event of a batch: `rated`, `rejected` (stored with its reason), `duplicate`
    (rated before, nothing changed) or `invalid` (no usable id: nothing stored, the caller refuses it)."""

    status: str
    id: str | None = None
    reason: str | None = None
    field: str | None = None
    record: dict[str, Any] | None = None


@dataclass(slots=True)
class _Checked:
    raw: Any
    event: UsageEvent | None = None
    values: dict[str, Any] = field(default_factory=dict)
    problem: UsageRejected | None = None


def check_event(raw: Any, catalog: CatalogCache, types: dict[str, Any] | None = None) -> _Checked:
    """`raw` parsed and checked against its service type; `types` keeps the service types a batch looked up
    (one catalog cache look-up per type, not per event)."""
    try:
        event = parse_envelope(raw)
    except UsageRejected as problem:
        event_id = raw.get("id") if isinstance(raw, dict) else None
        if problem.field == "id" or not isinstance(event_id, str):
            return _Checked(raw, problem=problem)
        return _Checked(raw, event=UsageEvent(event_id, str(raw.get("serviceType")), str(
            raw.get("serviceIdentifier")), utc_now(), ZERO, {}), problem=problem)
    types = {} if types is None else types
    if event.service_type not in types:
        types[event.service_type] = catalog.service_type(event.service_type)
    service_type = types[event.service_type]
    if service_type is None:
        return _Checked(raw, event, problem=UsageRejected(f"unknown service type {event.service_type!r}",
                                                          "serviceType"))
    try:
        return _Checked(raw, event, check_fields(event, service_type.get("fields", [])))
    except UsageRejected as problem:
        return _Checked(raw, event, problem=problem)


def rate_batch(raws: Sequence[Any], catalog: CatalogCache, *, source: str, lateness: timedelta,
               now: datetime | None = None, strict: bool = False,
               inventory: InventoryCache | None = None, fresh: bool = False) -> list[Outcome]:
    """Rate `raws` (usage events in wire shape) once each; returns one outcome per input, in order.

    `strict` (the HTTP API): bad input anywhere in the batch raises ValidationFailed naming
    `events.<index>.<field>` and nothing is stored; only business denials (prepaid credit, sharing policy)
    are stored as rejected events. Without it (the stream) bad events are stored as rejected too.

    `fresh` (the stream, when no message of the batch was delivered before): the first run does not look up
    which ids were rated before and inserts the usage records directly; if one was (a publisher sent an id
    twice), the insert fails on the key, the transaction is abandoned and the batch runs again the careful way.
    Either way an id is rated once: the usage record's key decides (decision 0413)."""
    now = now or utc_now()
    types: dict[str, Any] = {}
    checked = [check_event(raw, catalog, types) for raw in raws]

    def run(uow: UnitOfWork, careful: bool) -> list[Outcome]:
        return BatchRating(uow, catalog, now, lateness, source, inventory).run(checked, strict=strict,
                                                                               careful=careful)

    try:
        return transaction(lambda uow: run(uow, not fresh), source=SOURCE)
    except (DuplicateKeyError, BulkWriteError) as error:
        if not only_duplicate_keys(error):
            raise
        # An id was rated before (a fresh batch) or another consumer committed one between our read and our
        # insert: run again, careful, and it is seen as a duplicate.
        return transaction(lambda uow: run(uow, True), source=SOURCE)


def only_duplicate_keys(error: DuplicateKeyError | BulkWriteError) -> bool:
    """Whether a failed write failed only because a key was taken."""
    if isinstance(error, DuplicateKeyError):
        return True
    errors = error.details.get("writeErrors", [])
    return bool(errors) and all(e.get("code") == DUPLICATE_KEY for e in errors)


_d128 = to_storage


def _dec(value: Any) -> Decimal:
    return from_storage(value) if isinstance(value, Decimal128) else Decimal(value)


@dataclass(slots=True)
class _Context:
    """Everything one event needs, resolved from the batch's reads. Without its share it depends on the service
    only, so a batch resolves it once per service (`BatchRating.context`)."""

    service: dict[str, Any]
    subscription: dict[str, Any]
    tariff: Tariff
    payment_type: str
    cycle: Cycle | None
    who: dict[str, Any]  # what a usage record says of whose it is (`_who`)
    share: Share | None = None


# Service id -> (service, subscription, cycle, catalog, the context they resolve to) as a batch last found them.
# The inventory cache (decision 0408) hands every batch the very same documents until an event drops them, so a
# batch that finds the same objects (compared by identity, never by id alone) reuses their context: the product
# look-up and the context's objects were about 6 % of the stream's CPU, and a service is rarely twice in a batch.
_RESOLVED: dict[str, tuple[Any, ...]] = {}
_RESOLVED_MAX = 20_000


class BatchRating:
    def __init__(self, uow: UnitOfWork, catalog: CatalogCache, now: datetime, lateness: timedelta, source: str,
                 inventory: InventoryCache | None = None, defer_charges: bool = False):
        self.uow, self.catalog, self.now, self.lateness, self.source = uow, catalog, now, lateness, source
        # Real-time charging: a postpaid record is marked `pending_charge` instead of its batch publishing a
        # `usage.charged`; the worker's flush sums the marked records (decision 0415).
        self.defer_charges = defer_charges
        # Taken before the transaction's first read: what the batch reads is kept only if no service or
        # subscription event arrived since (its snapshot may predate the change the event announces).
        self.inventory = inventory
        self.generation = inventory.generation() if inventory else None
        self.charges = ChargeSums()
        self.share_deltas: dict[str, tuple[str, Decimal]] = {}
        # Credit held by reservations (+) or given back (-), per balance and per sharing counter: written with
        # the amounts, one update per document (real-time charging).
        self.held_deltas: dict[str, Decimal] = defaultdict(Decimal)
        self.share_held: dict[str, tuple[str, Decimal]] = {}

    def _find(self, collection: str, query: dict[str, Any], projection: dict[str, Any] | None = None
              ) -> list[dict[str, Any]]:
        return self.uow.find_documents(collection, query, projection)

    # -- reads, one per collection ------------------------------------------------------------------
    def load(self, events: list[UsageEvent], thresholds: bool = True) -> None:
        """Read what rating `events` needs; `thresholds=False` (a reservation, which changes no balance) skips
        the balance groups' credit profiles."""
        by_type: dict[str, set[str]] = defaultdict(set)
        for event in events:
            by_type[event.service_type].add(event.service_identifier)
        read, fresh = self._load_inventory(by_type)
        customers = {s["customer_id"] for s in self.subscriptions.values()}
        memberships = self._load_sharing(customers)
        profiles = {s["billing_profile_id"] for s in self.subscriptions.values()}
        cycles, unknown = self.inventory.cycles(profiles) if self.inventory else ({}, profiles)
        read_cycles: dict[str, dict[str, Any]] = dict.fromkeys(unknown, {})  # {}: no cycle recorded yet
        if unknown:
            read_cycles.update((c["_id"], c) for c in self._find("billing_cycles", {"_id": {"$in": sorted(unknown)}}))
        self.cycles = {p: c for p, c in {**cycles, **read_cycles}.items() if c}
        groups = {s["balance_group_id"] for s in self.subscriptions.values()} | set(self.owner_groups.values())
        balance_groups, read_groups = self._load_groups(groups) if thresholds else ({}, {})
        if self.inventory:
            self.inventory.keep(self.generation, read, fresh, memberships, read_cycles, read_groups)
        raw_balances = self._find("balances", {"balance_group_id": {"$in": sorted(groups)}}, BALANCE_FIELDS) \
            if groups else []
        resources = {b["resource"] for b in raw_balances}
        self.book = BalanceBook([to_domain(b) for b in raw_balances],
                                {r: self.catalog.consumption_order(r) for r in resources},
                                {b["_id"]: _dec(b["held"]) for b in raw_balances if b.get("held")})
        self.new_balances: dict[str, dict[str, Any]] = {}
        self.thresholds = ThresholdWatch(self.uow, self.catalog, self.book, self.now, balance_groups, self.cycles)

    def _load_inventory(self, by_type: dict[str, set[str]]) -> tuple[dict[Any, Any], dict[Any, Any]]:
        """The batch's services (by type and identifier) and their subscriptions: from the in-process cache
        where it holds them, the rest from MongoDB (and then kept)."""
        keys = [(t, i) for t, ids in by_type.items() for i in ids]
        self.services: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        cached, missing = self.inventory.services(keys) if self.inventory else ({}, keys)
        self.services.update(cached)
        wanted: dict[str, set[str]] = defaultdict(set)
        for service_type, identifier in missing:
            wanted[service_type].add(identifier)
        read: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in missing}
        query = {"$or": [{"service_type": t, "identifier": {"$in": sorted(ids)}} for t, ids in wanted.items()]}
        for service in self._find("services", query, SERVICE_FIELDS) if wanted else []:
            read[(service["service_type"], service["identifier"])].append(service)
        self.services.update(read)
        subscription_ids = {s["subscription_id"] for found in self.services.values() for s in found}
        self.subscriptions, unknown = self.inventory.subscriptions(subscription_ids) if self.inventory \
            else ({}, subscription_ids)
        fresh = {s["_id"]: s for s in self._find(
            "subscriptions", {"_id": {"$in": sorted(unknown)}}, SUBSCRIPTION_FIELDS)} if unknown else {}
        self.subscriptions.update(fresh)
        return read, fresh  # to keep

    def _load_groups(self, groups: set[str]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """(the balance groups' credit profiles, those read from MongoDB, to keep): from the cache where it
        holds them (kept by `balance_group.changed`, decision 0410)."""
        cached, unknown = self.inventory.balance_groups(groups) if self.inventory else ({}, groups)
        read = {g["_id"]: g for g in self._find("balance_groups", {"_id": {"$in": sorted(unknown)}}, GROUP_FIELDS)} \
            if unknown else {}
        return {**cached, **read}, read

    def _load_sharing(self, customers: set[int]) -> dict[int, list[dict[str, Any]]]:
        """The customers' active sharing memberships and what sharing needs of them; returns the memberships
        read from MongoDB (to keep)."""
        self.memberships: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.sharing_groups: dict[str, dict[str, Any]] = {}
        self.owner_groups: dict[str, str] = {}  # sharing group id -> the owner's balance group
        self.share_used: dict[str, Decimal] = {}
        cached, unknown = self.inventory.memberships(customers) if self.inventory else ({}, customers)
        read: dict[int, list[dict[str, Any]]] = {c: [] for c in unknown}
        for member in self._find("sharing_members", {"customer_id": {"$in": sorted(unknown)}, "status": ACTIVE}) \
                if unknown else []:
            read[member["customer_id"]].append(member)
        members = [m for found in (cached, read) for ms in found.values() for m in ms]
        if not members:
            return read
        for member in members:
            self.memberships[member["customer_id"]].append(member)
        self.sharing_groups = {g["_id"]: g for g in self._find(
            "sharing_groups", {"_id": {"$in": sorted({m["group_id"] for m in members})}, "status": ACTIVE})}
        owners = {s["_id"]: s for s in self._find(
            "subscriptions", {"_id": {"$in": sorted({g["subscription_id"] for g in self.sharing_groups.values()})},
                              "status": ACTIVE}, {"balance_group_id": 1})}
        for group in self.sharing_groups.values():
            owner = owners.get(group["subscription_id"])
            if owner is not None:
                self.owner_groups[group["_id"]] = owner["balance_group_id"]
        # Units held by open reservations count against a member's cap like consumed ones.
        self.share_used = {c["_id"]: _dec(c["used"]) + _dec(c.get("held", Decimal128("0"))) for c in self._find(
            "sharing_usage", {"member_id": {"$in": [m["_id"] for m in members]}})}
        return read

    # -- one event ----------------------------------------------------------------------------------
    def _service(self, event: UsageEvent) -> dict[str, Any]:
        candidates = self.services.get((event.service_type, event.service_identifier), [])
        if not candidates:
            raise UsageRejected(f"no {event.service_type} service has the identifier {event.service_identifier!r}",
                                "serviceIdentifier")
        for service in candidates:
            if service["status"] == ACTIVE and _within(service, event.start_time):
                return service
        latest = max(candidates, key=lambda s: s["valid_from"])
        if latest["status"] != ACTIVE:
            raise UsageRejected(f"the service {event.service_identifier!r} is {latest['status']}",
                                "serviceIdentifier")
        raise UsageRejected(f"the service {event.service_identifier!r} is not valid at the start time", "startTime")

    def _owner(self, event: UsageEvent) -> dict[str, Any]:
        """Whose identifier a refused event named (a suspended or terminated service, a cancelled subscription),
        so the refusal shows in that customer's usage list; nothing for an unknown identifier."""
        candidates = self.services.get((event.service_type, event.service_identifier))
        if not candidates:
            return {}
        latest = max(candidates, key=lambda s: s["valid_from"])
        return {"customer_id": latest.get("customer_id"), "service_id": latest["_id"]}

    def context(self, event: UsageEvent) -> _Context:
        service = self._service(event)
        subscription = self.subscriptions.get(service["subscription_id"])
        cycle_raw = self.cycles.get(subscription["billing_profile_id"]) if subscription is not None else None
        kept = _RESOLVED.get(service["_id"])
        if kept is not None and kept[0] is service and kept[1] is subscription and kept[2] is cycle_raw \
                and kept[3] is self.catalog:
            context = kept[4]
        else:
            context = self._resolve(service, subscription, cycle_raw, event)
            if len(_RESOLVED) >= _RESOLVED_MAX:
                _RESOLVED.clear()
            _RESOLVED[service["_id"]] = (service, subscription, cycle_raw, self.catalog, context)
        customer_id = context.subscription["customer_id"]
        if customer_id not in self.memberships:
            return context
        share = self._share(customer_id, context.tariff.resource, context.cycle, event.start_time)
        return context if share is None else _Context(context.service, context.subscription, context.tariff,
                                                      context.payment_type, context.cycle, context.who, share)

    def _resolve(self, service: dict[str, Any], subscription: dict[str, Any] | None,
                 cycle_raw: dict[str, Any] | None, event: UsageEvent) -> _Context:
        """What rating needs of `service` that does not depend on the event (its share aside)."""
        if subscription is None or subscription["status"] != ACTIVE:
            raise UsageRejected(f"the subscription of service {event.service_identifier!r} is not active",
                                "serviceIdentifier")
        product = next((p for p in subscription["products"] if p.get("service_id") == service["_id"]
                        and p["type"] == "service" and p["purchased"] and p.get("status", ACTIVE) == ACTIVE), None)
        tariff = None if product is None else self.catalog.tariff(product["code"], product["version"])
        if tariff is None:
            raise UsageRejected(f"the service {event.service_identifier!r} has no rated product", "serviceIdentifier")
        cycle = None if cycle_raw is None else Cycle(cycle_raw["start"], cycle_raw["end"], cycle_raw.get("bill_id"))
        payment_type = (cycle_raw or {}).get("payment_type") or subscription.get("payment_type") or POSTPAID
        return _Context(service, subscription, tariff, payment_type, cycle, _who(service, subscription, tariff))

    def _share(self, customer_id: int, resource: str, cycle: Cycle | None, at: datetime) -> Share | None:
        for member in self.memberships.get(customer_id, []):
            group = self.sharing_groups.get(member["group_id"])
            if group is None or member["group_id"] not in self.owner_groups or not _within(member, at) \
                    or not _within(group, at):
                continue
            policy = self.catalog.sharing_policy(group["policy"]) or {}
            shared = next((r for r in policy.get("resources", []) if r["resource"] == resource), None)
            if shared is None:
                continue
            key = share_key(member["_id"], resource, cycle or calendar_month(at))
            cap = shared.get("memberCap")
            return Share(self.owner_groups[member["group_id"]], key, None if cap is None else Decimal(cap),
                         self.share_used.get(key, ZERO), policy.get("onExhausted", "fallback"))
        return None

    def timing(self, event: UsageEvent, cycle: Cycle | None) -> tuple[datetime, bool]:
        """(instant the balances are judged at, late?)."""
        if event.start_time > self.now + FUTURE_TOLERANCE:
            raise UsageRejected("lies in the future", "startTime")
        if cycle is None or event.start_time >= cycle.start:
            return event.start_time, False
        if self.now - cycle.start > self.lateness:
            raise UsageRejected(f"its billing cycle closed at {cycle.start.isoformat()}, beyond the lateness "
                                f"window of {self.lateness}", "startTime")
        return self.now, True  # rated into the current cycle

    # -- the batch ----------------------------------------------------------------------------------
    def run(self, checked: list[_Checked], strict: bool = False, careful: bool = True) -> list[Outcome]:
        """Rate and write `checked`; without `careful` no id is looked up (the caller knows none was delivered
        before, and the insert of the usage records fails on a taken key)."""
        existing = self.existing(checked) if careful else set()
        self.load([c.event for c in checked if c.event is not None and c.problem is None
                   and c.event.id not in existing])
        outcomes, records = self.rate_all(checked, existing)
        if strict:
            refuse_bad_input(outcomes)
        self.write(records)
        return outcomes

    def existing(self, checked: list[_Checked]) -> set[str]:
        """The ids of `checked` rated before (a redelivery)."""
        ids = [c.event.id for c in checked if c.event is not None]
        return {d["_id"] for d in self._find(USAGE, {"_id": {"$in": ids}}, {"_id": 1})} if ids else set()

    def rate_all(self, checked: list[_Checked], existing: set[str]) -> tuple[list[Outcome], list[dict[str, Any]]]:
        """Rate against the book (after `load`); (one outcome per input, the usage records to write)."""
        outcomes: list[Outcome] = []
        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in checked:
            if item.event is None:
                assert item.problem is not None, "check_event gives a problem with every event it could not read"
                outcomes.append(Outcome("invalid", reason=str(item.problem), field=item.problem.field))
                continue
            event = item.event
            if event.id in existing or event.id in seen:
                outcomes.append(Outcome("duplicate", event.id))
                continue
            seen.add(event.id)
            record = self._rate_one(item)
            records.append(record)
            outcomes.append(Outcome(record["status"], event.id, record.get("reason"), record.get("reason_field"),
                                    record))
        return outcomes, records

    def hold(self, balance_id: str, amount: Decimal) -> None:
        """Hold (or with a negative amount give back) credit of a balance for a reservation."""
        self.book.held[balance_id] = self.book.held.get(balance_id, ZERO) + amount
        self.held_deltas[balance_id] += amount

    def hold_shared(self, member_key: str, amount: Decimal) -> None:
        """Hold (or give back) a sharing member's units of the owner's pool: they count against its cap."""
        self.book.shared[member_key] += amount
        member_id, previous = self.share_held.get(member_key, (member_key.split(":", 1)[0], ZERO))
        self.share_held[member_key] = (member_id, previous + amount)

    def write(self, records: list[dict[str, Any]]) -> None:
        if records:
            self.uow.insert_documents(USAGE, records, ordered=False)
        self._write_balances()
        self._publish_charges()
        self.thresholds.publish()

    def _rate_one(self, item: _Checked) -> dict[str, Any]:
        event = item.event
        assert event is not None
        record: dict[str, Any] = {
            "_id": event.id, "service_type": event.service_type, "service_identifier": event.service_identifier,
            "start_time": event.start_time, "quantity": _d128(event.quantity), "fields": item.values,
            "source": self.source, "created_at": self.now, "late": False}
        context = None
        try:
            if item.problem is not None:
                raise item.problem
            context = self.context(event)
            record.update(context.who)
            as_of, late = self.timing(event, context.cycle)
            group_id = context.subscription["balance_group_id"]
            watched = (context.tariff.resource, context.tariff.price_resource)
            before = self.thresholds.before(group_id, watched, as_of)
            result = rate(fields=item.values, quantity=event.quantity, tariff=context.tariff, book=self.book,
                          group_id=group_id, payment_type=context.payment_type, as_of=as_of, share=context.share)
        except UsageRejected as problem:
            record.update(status="rejected", reason=problem.reason, reason_field=problem.field)
            if context is None:
                record.update(self._owner(event))
            if item.problem is not None:
                record["raw"] = item.raw
            return record
        self.book.apply(result, [context.share] if context.share else [])
        if context.share is not None and result.shared_used:
            member_id = context.share.member_key.split(":", 1)[0]
            previous = self.share_deltas.get(context.share.member_key, (member_id, ZERO))[1]
            self.share_deltas[context.share.member_key] = (member_id, previous + result.shared_used)
        cycle = context.cycle if context.cycle is not None and context.cycle.start <= as_of < context.cycle.end \
            else calendar_month(as_of)
        record.update(_rated(result, context.tariff, late, cycle))
        if result.charged:
            self._charge(context, event, result, cycle, late, record)
        self.thresholds.changed(group_id, before, as_of)
        return record

    def _charge(self, context: _Context, event: UsageEvent, result: Rating, cycle: Cycle, late: bool,
                record: dict[str, Any]) -> None:
        tariff, subscription, service = context.tariff, context.subscription, context.service
        balance = charge_balance(subscription, tariff.price_resource, cycle, self.now)
        if balance["_id"] not in self.book.balances:
            self.book.add(to_domain(balance))
            self.new_balances[balance["_id"]] = balance
        self.book.charge(balance["_id"], result.charged)
        if self.defer_charges:
            record["pending_charge"] = {"cycle_start": cycle.start, "units": _d128(result.paid_quantity)}
            return
        self.charges.add(
            (subscription["billing_profile_id"], cycle.start, service["_id"], tariff.resource),
            lambda: charge_head(subscription["billing_profile_id"], subscription["customer_id"], cycle.bill_id,
                                subscription["balance_group_id"], service["_id"], service["identifier"],
                                service["service_type"], tariff.resource, tariff.price_resource),
            result.paid_quantity, result.charged, late, event.start_time)

    # -- writes -------------------------------------------------------------------------------------
    def _write_balances(self) -> None:
        updates: list[dict[str, Any]] = []
        for balance_id in {**self.book.deltas, **self.held_deltas}:
            change = {}
            if balance_id in self.book.deltas:
                change["amount"] = _d128(self.book.deltas[balance_id])
            if self.held_deltas.get(balance_id):
                change["held"] = _d128(self.held_deltas[balance_id])
            if not change:
                continue
            created = self.new_balances.get(balance_id)
            if created is None:
                updates.append({"q": {"_id": balance_id}, "u": {"$inc": change}})
            else:
                # Upsert: a concurrent batch may have created the cycle's charge balance meanwhile.
                on_insert = {k: v for k, v in created.items() if k not in ("_id", "amount")}
                updates.append({"q": {"_id": balance_id}, "u": {"$inc": change, "$setOnInsert": on_insert},
                                "upsert": True})
        if updates:
            self.uow.update_documents("balances", updates)
        counters = []
        for key in {**self.share_deltas, **self.share_held}:
            member_id, used = self.share_deltas.get(key, (None, ZERO))
            change = {"used": _d128(used)}
            if key in self.share_held:
                member_id, held = self.share_held[key]
                change["held"] = _d128(held)
            counters.append({"q": {"_id": key}, "u": {"$inc": change, "$setOnInsert": {
                "member_id": member_id, "created_at": self.now}}, "upsert": True})
        if counters:
            self.uow.update_documents("sharing_usage", counters)

    def _publish_charges(self) -> None:
        """One outbox write for all of the batch's `usage.charged` (a postpaid batch charges up to one per
        service)."""
        self.uow.publish_many(self.charges.events())


def refuse_bad_input(outcomes: list[Outcome]) -> None:
    bad = {f"events.{i}.{o.field or 'id'}": o.reason for i, o in enumerate(outcomes)
           if o.status == "invalid" or (o.status == "rejected" and o.field is not None)}
    if bad:
        raise ValidationFailed("some usage events are not valid; none was stored", bad)


def share_key(member_id: str, resource: str, cycle: Cycle) -> str:
    """The per-cycle consumption counter of one sharing member and resource."""
    return f"{member_id}:{resource}:{cycle.start.isoformat()}"


def charge_balance(subscription: dict[str, Any], resource: str, cycle: Cycle, now: datetime) -> dict[str, Any]:
    """The positive balance that collects a postpaid balance group's usage charges in one cycle."""
    group = subscription["balance_group_id"]
    return {"_id": f"charge:{group}:{resource}:{cycle.start.isoformat()}", "balance_group_id": group,
            "customer_id": subscription["customer_id"], "billing_profile_id": subscription["billing_profile_id"],
            "resource": resource, "amount": _d128(ZERO), "initial": _d128(ZERO),
            "validity": ValidityKind.CYCLE.value, "valid_from": cycle.start, "valid_to": cycle.end, "priority": 0,
            "source": "usage", "bill_item": "usage", "created_at": now}


def _within(entry: dict[str, Any], at: datetime) -> bool:
    return entry["valid_from"] <= at and (entry.get("valid_to") is None or at < entry["valid_to"])


def _who(service: dict[str, Any], subscription: dict[str, Any], tariff: Tariff) -> dict[str, Any]:
    return {"customer_id": subscription["customer_id"], "subscription_id": subscription["_id"],
            "balance_group_id": subscription["balance_group_id"],
            "billing_profile_id": subscription["billing_profile_id"], "service_id": service["_id"],
            "product_code": tariff.product_code, "product_version": tariff.product_version}


def _rated(result: Rating, tariff: Tariff, late: bool, cycle: Cycle) -> dict[str, Any]:
    return {
        "status": "rated", "late": late, "bill_id": cycle.bill_id, "resource": tariff.resource,
        "currency": tariff.price_resource, "units": _d128(result.units), "rounded_quantity": _d128(result.quantity),
        "price_per_unit": _d128(result.price_per_unit), "price": _d128(result.price),
        "free_used": _d128(result.free_used), "shared_used": _d128(result.shared_used),
        "amount": _d128(result.amount), "charged": _d128(result.charged),
        "impacts": [{"balance_id": i.balance_id, "resource": i.resource, "amount": _d128(i.amount)}
                    for i in result.impacts]}
