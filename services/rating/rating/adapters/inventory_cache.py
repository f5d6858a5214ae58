"""The in-process cache of services (by type and identifier), their subscriptions, customers' sharing
memberships, billing profiles' cycles and balance groups' credit profiles, kept exact by events (decisions 0408,
0409, 0410), in the stream and the charging process.

A batch reads the services and subscriptions it rates from here and asks MongoDB only for the ones it does
not hold. Every change of a service or subscription publishes an event on `rating.events` (its outbox, in the
changing transaction); `InventoryListener` drops what the event names as soon as this process sees it. What
the cache answers may therefore lag a commit by the outbox relay's delay — the window decision 0408 bounds:

- it is used only while the listener is connected: events missed while it was away cannot be told apart, so
  the cache is emptied when the listener (re)connects and bypassed while it is down;
- a batch keeps what it read only if no event arrived since it started (`generation`), so a read that raced
  an invalidation is never kept;
- a purged customer's documents (deleted without rating's events) are dropped on `customer.purged` and not
  kept again for `max_age`, since rating's worker may delete them only after this process saw the event;
- a billing profile's cycle is recorded by rating's worker after billing announces it, so for `max_age` after
  the announcement reached this process the profile's cycle is read afresh every time;
- nothing is kept longer than `max_age` seconds, however quiet the events are (a lost event, a relay that is
  down), and at most `max_entries` services and subscriptions (least recently used go first).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import pika

from chassis.envelope import exchange_for

log = logging.getLogger(__name__)

ServiceKey = tuple[str, str]  # (service type, identifier)
EVENTS = ("service.created", "service.changed", "service.deleted", "subscription.created",
          "subscription.changed", "subscription.cancelled",
          # A customer's sharing memberships (decision 0409).
          "sharing_member.joined", "sharing_member.changed", "sharing_member.removed",
          # Billing's announcement of a profile's new cycle, which rating's worker then records (decision 0409).
          "billing.cycle_started",
          # A balance group's credit profile (thresholds), edited by an operator (decision 0410).
          "balance_group.changed",
          # A purge deletes a customer's services and subscriptions without events of rating's own.
          "customer.purged")


K = TypeVar("K", bound=Hashable)


class _Lru(Generic[K]):
    """key -> (kept at, value), least recently used first (read by `InventoryCache._lookup`); not thread-safe
    (the cache holds the lock)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.values: OrderedDict[K, tuple[float, Any]] = OrderedDict()

    def put(self, key: K, value: Any, now: float) -> None:
        self.values[key] = (now, value)
        self.values.move_to_end(key)
        while len(self.values) > self.max_entries:
            self.values.popitem(last=False)


class InventoryCache:
    """(service type, identifier) -> every service document with that identifier; subscription id -> its
    document. Thread-safe: the stream rates a batch's parts on several threads. Callers must not change what
    they get."""

    def __init__(self, max_entries: int = 20_000, max_age: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age, self._clock = max_age, clock
        self._services: _Lru[ServiceKey] = _Lru(max_entries)
        self._subscriptions: _Lru[Any] = _Lru(max_entries)
        # customer id -> its active sharing memberships ([] for none); billing profile id -> its recorded cycle
        # ({} for none yet).
        self._memberships: _Lru[Any] = _Lru(max_entries)
        self._cycles: _Lru[Any] = _Lru(max_entries)
        # balance group id -> what thresholds read of it (customer, billing profile, credit profile).
        self._groups: _Lru[Any] = _Lru(max_entries)
        # Billing profiles whose new cycle was announced (-> when): rating's worker records it only after this
        # process may have seen the announcement, so their cycle is read afresh for a while.
        self._new_cycles: dict[Any, float] = {}
        self._keys_of_service: dict[Any, ServiceKey] = {}
        # Customers being purged (-> when the event came): rating's worker may delete their documents after this
        # process saw the event, so what a batch reads of them is not kept for a while.
        self._purged: dict[Any, float] = {}
        self._generation = 0
        self._live = False  # only while invalidations are being received
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    # -- reading --------------------------------------------------------------------------------------
    def generation(self) -> int | None:
        """Taken before a batch's first read; None while the cache is not in use."""
        with self._lock:
            return self._generation if self._live else None

    def services(self, keys: Iterable[ServiceKey]) -> tuple[dict[ServiceKey, list[dict[str, Any]]], list[ServiceKey]]:
        """(the services kept per key, the keys to read)."""
        return self._lookup(self._services, keys)

    def subscriptions(self, ids: Iterable[Any]) -> tuple[dict[Any, dict[str, Any]], list[Any]]:
        return self._lookup(self._subscriptions, ids)

    def memberships(self, customer_ids: Iterable[Any]) -> tuple[dict[Any, list[dict[str, Any]]], list[Any]]:
        return self._lookup(self._memberships, customer_ids)

    def cycles(self, profile_ids: Iterable[Any]) -> tuple[dict[Any, dict[str, Any]], list[Any]]:
        return self._lookup(self._cycles, profile_ids)

    def balance_groups(self, group_ids: Iterable[Any]) -> tuple[dict[Any, dict[str, Any]], list[Any]]:
        return self._lookup(self._groups, group_ids)

    def _lookup(self, lru: _Lru[Any], keys: Iterable[Hashable]) -> tuple[dict[Any, Any], list[Any]]:
        found: dict[Any, Any] = {}
        missing: list[Any] = []
        with self._lock:
            if not self._live:
                return found, list(keys)
            oldest = self._clock() - self.max_age
            # `_Lru.get` inlined: a batch looks up five keys or so per event.
            values = lru.values
            kept_of, to_end = values.get, values.move_to_end
            for key in keys:
                kept = kept_of(key)
                if kept is None:
                    missing.append(key)
                elif kept[0] < oldest:
                    del values[key]
                    missing.append(key)
                else:
                    to_end(key)
                    found[key] = kept[1]
            self.hits += len(found)
            self.misses += len(missing)
        return found, missing

    def keep(self, generation: int | None, services: dict[ServiceKey, list[dict[str, Any]]],
             subscriptions: dict[Any, dict[str, Any]], memberships: dict[Any, list[dict[str, Any]]] | None = None,
             cycles: dict[Any, dict[str, Any]] | None = None,
             balance_groups: dict[Any, dict[str, Any]] | None = None) -> None:
        """Keep what a batch read, unless an event arrived since it took `generation` (its read may predate
        the change the event announces)."""
        with self._lock:
            if generation is None or generation != self._generation or not self._live:
                return
            now = self._clock()
            self._purged = {c: at for c, at in self._purged.items() if at > now - self.max_age}
            self._new_cycles = {p: at for p, at in self._new_cycles.items() if at > now - self.max_age}
            for customer_id, found in (memberships or {}).items():
                if customer_id not in self._purged:
                    self._memberships.put(customer_id, found, now)
            for profile_id, cycle in (cycles or {}).items():
                if profile_id not in self._new_cycles and cycle.get("customer_id") not in self._purged:
                    self._cycles.put(profile_id, cycle, now)
            for group_id, group in (balance_groups or {}).items():
                if group.get("customer_id") not in self._purged:
                    self._groups.put(group_id, group, now)
            for key, found in services.items():
                # An unknown identifier is not kept: a new service would have to evict it too.
                if not found or any(s.get("customer_id") in self._purged for s in found):
                    continue
                self._services.put(key, found, now)
                for service in found:
                    self._keys_of_service[service["_id"]] = key
            for subscription_id, subscription in subscriptions.items():
                if subscription.get("customer_id") not in self._purged:
                    self._subscriptions.put(subscription_id, subscription, now)

    # -- invalidating ---------------------------------------------------------------------------------
    def forget(self, event_type: str, data: dict[str, Any]) -> None:
        """Drop what a rating event says has changed (and everything kept alongside it)."""
        with self._lock:
            self._generation += 1
            if event_type == "customer.purged":
                self._forget_customer(data.get("id"))
            elif event_type.startswith("sharing_member."):
                self._memberships.values.pop(data.get("customerId"), None)
            elif event_type == "balance_group.changed":
                self._groups.values.pop(data.get("id"), None)
            elif event_type == "billing.cycle_started":
                self._cycles.values.pop(data.get("billingProfileId"), None)
                self._new_cycles[data.get("billingProfileId")] = self._clock()
            elif event_type.startswith("subscription."):
                self._subscriptions.values.pop(data.get("id"), None)
                for service in data.get("services") or []:
                    self._forget_service(service.get("id"), service.get("serviceType"), service.get("identifier"))
            else:
                self._forget_service(data.get("id"), data.get("serviceType"), data.get("identifier"))
                self._subscriptions.values.pop(data.get("subscriptionId"), None)

    def _forget_customer(self, customer_id: Any) -> None:
        self._purged[customer_id] = self._clock()
        for key, (_, found) in list(self._services.values.items()):
            if any(s.get("customer_id") == customer_id for s in found):
                del self._services.values[key]
        for subscription_id, (_, subscription) in list(self._subscriptions.values.items()):
            if subscription.get("customer_id") == customer_id:
                del self._subscriptions.values[subscription_id]
        self._memberships.values.pop(customer_id, None)
        for group_id, (_, group) in list(self._groups.values.items()):
            if group.get("customer_id") == customer_id:
                del self._groups.values[group_id]
        for profile_id, (_, cycle) in list(self._cycles.values.items()):
            if cycle.get("customer_id") == customer_id:
                del self._cycles.values[profile_id]

    def _forget_service(self, service_id: Any, service_type: Any, identifier: Any) -> None:
        # The key it was kept under (its identifier may just have changed) and the key it has now (a new or
        # re-identified service joins whatever else was kept with that identifier).
        old = self._keys_of_service.pop(service_id, None)
        if old is not None:
            self._services.values.pop(old, None)
        if identifier is None:
            return
        if service_type is None:  # service.deleted names no type: every type's entry of the identifier
            for key in [k for k in self._services.values if k[1] == identifier]:
                self._services.values.pop(key, None)
        else:
            self._services.values.pop((service_type, identifier), None)

    def start(self) -> None:
        """Invalidations flow from now on: start from nothing, since events may have been missed."""
        with self._lock:
            self._clear()
            self._live = True

    def stop(self) -> None:
        """Invalidations stopped (the listener lost its connection): answer nothing until they flow again."""
        with self._lock:
            self._clear()
            self._live = False

    def _clear(self) -> None:
        self._generation += 1
        self._services.values.clear()
        self._subscriptions.values.clear()
        self._memberships.values.clear()
        self._cycles.values.clear()
        self._groups.values.clear()
        self._keys_of_service.clear()


class InventoryListener:
    """Feeds the events that change what an `InventoryCache` keeps (`EVENTS`) to it, on its own thread and
    connection, from a queue of its own (exclusive, deleted with the connection)."""

    def __init__(self, amqp_uri: str, cache: InventoryCache) -> None:
        self.amqp_uri, self.cache = amqp_uri, cache
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inventory-listener", daemon=True)
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self._listen()
                backoff = 0.5
            except Exception:  # noqa: BLE001 (any broker trouble: bypass the cache, reconnect)
                log.warning("inventory events unavailable; rating reads services from MongoDB meanwhile",
                            exc_info=True)
            finally:
                self.cache.stop()
                self.ready.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _listen(self) -> None:
        params = pika.URLParameters(self.amqp_uri)
        params.heartbeat = 30
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            for event_type in EVENTS:
                exchange = exchange_for(event_type)
                channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
                channel.queue_bind(queue, exchange, routing_key=event_type)
            # Bound before the cache is used: no event published from now on is missed.
            self.cache.start()
            self.ready.set()
            for _, _, body in channel.consume(queue, auto_ack=True, inactivity_timeout=0.5):
                if self._stop.is_set():
                    break
                if body is not None:
                    self._apply(body)
        finally:
            if connection.is_open:
                connection.close()

    def _apply(self, body: bytes) -> None:
        try:
            envelope = json.loads(body)
            self.cache.forget(str(envelope["type"]), envelope.get("data") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            # An event we cannot read might have named anything: forget everything.
            log.warning("unreadable inventory event; emptying the cache")
            self.cache.start()
