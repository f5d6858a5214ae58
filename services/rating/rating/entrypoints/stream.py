"""`python -m rating stream`: the usage stream consumer (hot path), outside nameko.

Batches from the `rating.usage` queue are rated and acknowledged after their transactions commit. A message
that is not a usage event (not JSON, no id) is dead-lettered with its reason; an event that cannot be rated is
stored as rejected. Catalog reads go through the in-process cache only; services and subscriptions through
the inventory cache, which rating's own events keep current (decision 0408).

A batch is split by service identifier into `RATING_STREAM_PARALLEL` parts rated in concurrent transactions:
a batch spends much of its time waiting for MongoDB (reads, the commit's journal flush), and the parts wait at
the same time. A customer's services usually share one identifier, so parts rarely touch the same balance;
when they do (a sharing member and its owner, say) MongoDB makes one of them retry, and nothing is drawn twice.

A message carries one usage event or a batch of up to 1,000 (`{"events": [...]}`, usage.batch.v1; decision
0411): the batch's messages are flattened into their events and rated in chunks of `RATING_STREAM_BATCH_SIZE`
events, each chunk split into its parts as above, so a transaction holds as many events as with one event per
message. The messages are acknowledged once every chunk committed. A batch message whose shape is wrong (not
an array, empty, over the limit) is dead-lettered unrated; one with elements that have no usable id has its
other events rated and is dead-lettered naming those elements (a replay rates nothing twice: ids are keys).
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from prometheus_client import Counter

from chassis import rpc_contracts
from chassis.settings import Settings
from chassis.stream import StreamMessage, serve
from rating import bootstrap, config
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache
from rating.domain.usage import BATCH_MEMBER, UsageRejected, message_events
from rating.service_layer.rating_batch import Outcome, rate_batch

# The contract's bound on the events of one message (tests/contract keeps it equal to the HTTP API's).
MAX_EVENTS: int = rpc_contracts.event_schema("usage.batch.v1")["properties"][BATCH_MEMBER]["maxItems"]
CHUNK_EVENTS = 500  # RATING_STREAM_BATCH_SIZE's default: usage events per chunk (transactions of its parts)
# The stream's messages are counted by chassis.stream; with batch messages the events are the throughput.
EVENTS = Counter("rating_stream_events_total", "Usage events the stream handled, by outcome", ["outcome"])
T = TypeVar("T")
# (index of the message in the handled batch, position in its batch or None for a one-event message)
Where = tuple[int, int | None]


def part_of(event: Any, parts: int) -> int:
    """The part a usage event is rated in: by its service identifier, stable across processes."""
    identifier = event.get("serviceIdentifier") if isinstance(event, dict) else None
    return zlib.crc32(str(identifier).encode()) % parts if parts > 1 else 0


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter), taken lazily: only one chunk's events are parsed
    and held at a time, whatever the messages hold."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def batch_handler(catalog: CatalogCache, lateness: timedelta, parallel: int = 1,
                  inventory: InventoryCache | None = None, chunk_size: int = CHUNK_EVENTS):
    pool = ThreadPoolExecutor(max_workers=parallel - 1, thread_name_prefix="rating-part") if parallel > 1 else None

    def rate(events: list[Any], fresh: bool) -> list[Outcome]:
        return rate_batch(events, catalog, source="stream", lateness=lateness, inventory=inventory, fresh=fresh)

    def rate_chunk(chunk: list[tuple[Where, Any]], fresh: bool) -> Iterator[tuple[Where, Outcome]]:
        """Rate one chunk of events in its parts, concurrently; (where each event came from, its outcome).
        `fresh`: no message of the chunk was delivered before (decision 0413)."""
        parts: list[list[tuple[Where, Any]]] = [[] for _ in range(max(parallel, 1))]
        for where, event in chunk:
            parts[part_of(event, len(parts))].append((where, event))
        parts = [part for part in parts if part]
        futures: list[Future] = [pool.submit(rate, [e for _, e in part], fresh) for part in parts[1:]] \
            if pool else []
        results: list[list[Outcome]] = []
        failure: BaseException | None = None
        try:
            results.append(rate([e for _, e in parts[0]], fresh))
        except BaseException as exc:  # noqa: BLE001 (re-raised once the other parts are done)
            failure = exc
        for future in futures:
            # Every part is finished before the batch is acknowledged or given back.
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001
                failure = failure or exc
        if failure is not None:
            raise failure
        for part, outcomes in zip(parts, results, strict=True):
            for (where, _), outcome in zip(part, outcomes, strict=True):
                yield where, outcome

    def handle(batch: Sequence[StreamMessage]) -> dict[int, str]:
        poison: dict[int, str] = {}
        unusable: dict[int, list[str]] = {}  # a batch message's elements without a usable id: "events.<i>: why"

        def events() -> Iterator[tuple[Where, Any]]:
            for index, message in enumerate(batch):
                try:
                    found, is_batch = message_events(json.loads(message.body), MAX_EVENTS)
                except (ValueError, UnicodeDecodeError) as exc:
                    poison[index] = f"not JSON: {exc}"
                    continue
                except UsageRejected as problem:
                    poison[index] = f"not a usage batch: {problem}"
                    continue
                for position, event in enumerate(found):
                    yield (index, position if is_batch else None), event

        counts: dict[str, int] = {}
        # A redelivered message may have been rated before its ack was lost: its chunk looks its ids up first.
        # Without one, a taken id (published twice) still fails the insert and the chunk runs again, careful.
        fresh = not any(message.redelivered for message in batch)
        for chunk in chunks(events(), chunk_size):
            for (index, position), outcome in rate_chunk(chunk, fresh):
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
                if outcome.status != "invalid":
                    continue
                if position is None:
                    poison[index] = f"not a usage event: {outcome.reason}"
                else:
                    unusable.setdefault(index, []).append(f"{BATCH_MEMBER}.{position}: {outcome.reason}")
        for index, problems in unusable.items():
            # The indexes first: the dead-letter header keeps only the reason's first 1,000 characters.
            positions = ", ".join(p.split(":", 1)[0] for p in problems)
            poison[index] = (f"not usage events at {positions} (the batch's other events were rated): "
                             + "; ".join(problems))
        for status, count in counts.items():
            EVENTS.labels(status).inc(count)
        return poison

    return handle


def run(settings: Settings) -> None:
    with bootstrap.hot_path_reads(settings) as (catalog, inventory):
        batching = config.stream_batching(settings)
        handler = batch_handler(catalog, config.lateness_window(settings), batching.parallel, inventory,
                                batching.batch_size)
        consumer = bootstrap.usage_consumer(settings, handler)
        serve(settings, consumer)
