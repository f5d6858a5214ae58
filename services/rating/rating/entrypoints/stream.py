"""`python -m rating stream`: the usage stream consumer (hot path), outside nameko.

Batches from the `rating.usage` queue are rated in one MongoDB transaction each and acknowledged after it
commits. A message that is not a usage event (not JSON, no id) is dead-lettered with its reason; an event
that cannot be rated is stored as rejected. Catalog reads go through the in-process cache only.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from chassis.stream import StreamMessage, serve
from rating import bootstrap, config
from rating.adapters.catalog import CatalogCache
from rating.service_layer.rating_batch import rate_batch


def batch_handler(catalog: CatalogCache, lateness: timedelta):
    def handle(batch: Sequence[StreamMessage]) -> dict[int, str]:
        poison: dict[int, str] = {}
        events: list[Any] = []
        positions: list[int] = []
        for index, message in enumerate(batch):
            try:
                events.append(json.loads(message.body))
                positions.append(index)
            except (ValueError, UnicodeDecodeError) as exc:
                poison[index] = f"not JSON: {exc}"
        outcomes = rate_batch(events, catalog, source="stream", lateness=lateness)
        for position, outcome in zip(positions, outcomes, strict=True):
            if outcome.status == "invalid":
                poison[position] = f"not a usage event: {outcome.reason}"
        return poison

    return handle


def run(settings: Settings) -> None:
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    catalog = bootstrap.catalog(lambda method, *args: rpc.call("catalog", method, *args))
    consumer = bootstrap.usage_consumer(settings, batch_handler(catalog, config.lateness_window(settings)))
    try:
        serve(settings, consumer)
    finally:
        rpc.close()
