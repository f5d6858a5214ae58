"""Composition root of the rating processes (the nameko worker, the usage stream consumer and the charging
RPC server): the one place that builds the catalog cache they rate through and the consumers with their
settings."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pymongo.errors import ConnectionFailure

from chassis.errors import Unavailable
from chassis.mongo import database, transaction
from chassis.mongo_wire import WireTransactions
from chassis.nameko_adapter import RpcClient
from chassis.rpc_batch import BatchRpcServer, RpcTopology
from chassis.settings import Settings
from chassis.stream import StreamConsumer, StreamTopology
from rating import config
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache, InventoryListener
from rating.adapters.reservation_cache import ReservationCache

USAGE_TOPOLOGY = StreamTopology(exchange="rating.usage", queue="rating.usage")
# The RPC service `python -m rating charging` answers as (decision 0407).
CHARGING_TOPOLOGY = RpcTopology("rating_charging")
CatalogCall = Callable[..., Any]


def catalog(call: CatalogCall) -> CatalogCache:
    """The catalog over `call(method, *args)` (an RPC to the catalog), cached in the process: catalog
    versions are immutable, configuration is re-read after its TTL."""
    return CatalogCache(call)


def inventory(settings: Settings) -> tuple[InventoryCache | None, InventoryListener | None]:
    """The services and subscriptions cache and the listener that keeps it current with rating's events, started
    (decision 0408); (None, None) when `RATING_INVENTORY_CACHE_SIZE` is 0."""
    size = config.inventory_cache_size(settings)
    if size <= 0:
        return None, None
    cache = InventoryCache(size, config.inventory_cache_seconds(settings))
    listener = InventoryListener(settings.amqp_uri, cache)
    listener.start()
    return cache, listener


def reservations(settings: Settings) -> ReservationCache | None:
    """The active reservations the charging process keeps instead of reading them back when they are settled
    (decision 0410); None when `RATING_RESERVATION_CACHE_SIZE` is 0."""
    size = config.reservation_cache_size(settings)
    return ReservationCache(size) if size > 0 else None


@contextmanager
def charging_transactions(settings: Settings) -> Iterator[Callable[..., Any]]:
    """How the charging process runs its batches' transactions: on the wire (decision 0022), or through
    pymongo's sessions when `RATING_CHARGING_WIRE` is 0; the wire's connections go back to the pool on exit."""
    if not config.charging_wire(settings):
        yield transaction
        return
    wire = WireTransactions(database())
    try:
        yield wire.transaction
    finally:
        wire.close()


@contextmanager
def hot_path_reads(settings: Settings) -> Iterator[tuple[CatalogCache, InventoryCache | None]]:
    """The catalog cache (over one RPC client) and the event-kept inventory cache that the stream and the
    charging process rate through; the client and the inventory listener are closed on exit."""
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    cache, listener = inventory(settings)
    try:
        yield catalog(lambda method, *args: rpc.call("catalog", method, *args)), cache
    finally:
        if listener is not None:
            listener.stop()
        rpc.close()


def usage_consumer(settings: Settings, handler: Callable[..., dict[int, str]]) -> StreamConsumer:
    batching = config.stream_batching(settings)
    return StreamConsumer(
        settings.amqp_uri, USAGE_TOPOLOGY, handler, batch_size=batching.batch_size, prefetch=batching.prefetch,
        max_wait=batching.max_wait,
        # The database or catalog being away says nothing about the events: retry the batch later.
        transient=(ConnectionFailure, Unavailable))


def charging_server(settings: Settings, handler: Callable[..., list[Any]]) -> BatchRpcServer:
    batching = config.charging_batching(settings)
    return BatchRpcServer(
        settings.amqp_uri, CHARGING_TOPOLOGY, handler, batch_size=batching.batch_size, prefetch=batching.prefetch,
        max_wait=batching.max_wait, transient=(ConnectionFailure, Unavailable), parallel=batching.parallel)
