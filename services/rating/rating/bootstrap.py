"""Composition root of the rating processes (the nameko worker and the usage stream consumer): the one
place that builds the catalog cache both rate through and the stream consumer with its settings."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.errors import ConnectionFailure

from chassis.errors import Unavailable
from chassis.settings import Settings
from chassis.stream import StreamConsumer, StreamTopology
from rating import config
from rating.adapters.catalog import CatalogCache

USAGE_TOPOLOGY = StreamTopology(exchange="rating.usage", queue="rating.usage")
CatalogCall = Callable[..., Any]


def catalog(call: CatalogCall) -> CatalogCache:
    """The catalog over `call(method, *args)` (an RPC to the catalog), cached in the process: catalog
    versions are immutable, configuration is re-read after its TTL."""
    return CatalogCache(call)


def usage_consumer(settings: Settings, handler: Callable[..., dict[int, str]]) -> StreamConsumer:
    return StreamConsumer(
        settings.amqp_uri, USAGE_TOPOLOGY, handler, batch_size=config.stream_batch_size(settings),
        prefetch=config.stream_prefetch(settings), max_wait=config.stream_max_wait(settings),
        # The database or catalog being away says nothing about the events: retry the batch later.
        transient=(ConnectionFailure, Unavailable))
