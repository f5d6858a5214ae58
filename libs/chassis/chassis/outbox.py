"""The outbox relay: moves committed events from a service's `outbox` collection
to RabbitMQ.

At-least-once: a record is marked published only after the broker confirmed it
(publisher confirms). A batch is published whole and its confirms are awaited once
(`BatchConfirms`), not one round trip per record. While the broker is unreachable
records stay pending and the relay retries with backoff. Only one relay per service database works at a
time (a lease in `outbox_lease`), so replicas do not publish the same record
twice in the normal case; consumers are idempotent for the rare case they do.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from pymongo.database import Database
from pymongo.errors import PyMongoError

from chassis import metrics
from chassis.envelope import CONTENT_TYPE, encode, exchange_for
from chassis.leases import Leases
from chassis.mongo import OUTBOX

log = logging.getLogger(__name__)
LEASE_SECONDS = 10
CONFIRM_TIMEOUT = 30.0


class NotConfirmed(pika.exceptions.AMQPError):
    """The broker refused (nack) or did not confirm a batch in time: nothing of it is marked published."""


_AMQP_ERRORS = (pika.exceptions.AMQPError, OSError)


class BatchConfirms:
    """Publisher confirms for whole batches on a pika `BlockingChannel`.

    pika's blocking channel in confirm mode waits for each message's confirm before the next publish: a round
    trip and a broker flush per message. This one publishes every message of a batch and then waits once until
    the broker confirmed them all (`multiple` acks confirm many at a time). pika offers that only on the
    blocking channel's underlying asynchronous channel (`_impl`), so only `publish` and `wait` may be used to
    publish on a channel given to it (declarations through the blocking channel are fine).
    """

    def __init__(self, connection: pika.BlockingConnection, channel: Any, timeout: float = CONFIRM_TIMEOUT):
        self.connection, self.timeout = connection, timeout
        self._impl = channel._impl
        self._last_tag = 0  # the channel numbers published messages 1, 2, 3, ... once in confirm mode
        self._unconfirmed: set[int] = set()
        self._nacked = 0
        selected: list[Any] = []

        def on_selected(frame: Any) -> None:
            selected.append(frame)
            self._wake()

        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_selected)
        self._wait_until(lambda: bool(selected), "confirm mode")

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: pika.BasicProperties) -> None:
        self._impl.basic_publish(exchange, routing_key, body, properties)
        self._last_tag += 1
        self._unconfirmed.add(self._last_tag)

    def wait(self) -> None:
        """Return once the broker confirmed everything published; NotConfirmed when it refused any of it."""
        self._wait_until(lambda: not self._unconfirmed, "publisher confirms")
        if self._nacked:
            refused, self._nacked = self._nacked, 0
            raise NotConfirmed(f"the broker refused {refused} message(s)")

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if method.multiple:
            confirmed = {tag for tag in self._unconfirmed if tag <= method.delivery_tag}
        else:
            confirmed = {method.delivery_tag} & self._unconfirmed
        self._unconfirmed -= confirmed
        if isinstance(method, pika.spec.Basic.Nack):
            self._nacked += len(confirmed)
        if not self._unconfirmed:
            self._wake()

    def _wake(self) -> None:
        # A callback on the asynchronous channel does not end the blocking connection's wait by itself.
        self.connection.add_callback_threadsafe(_nothing)

    def _wait_until(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotConfirmed(f"no {what} from the broker within {self.timeout:.0f} s")
            self.connection.process_data_events(time_limit=min(left, 1.0))


class OutboxRelay:
    def __init__(self, db: Database, amqp_uri: str, *, poll_seconds: float = 0.2, batch_size: int = 200):
        self.db = db
        self.amqp_uri = amqp_uri
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None
        self._confirms: BatchConfirms | None = None
        self._declared: set[str] = set()
        self._lease = Leases(db["outbox_lease"], LEASE_SECONDS, until_field="until")
        self._renew_at = 0.0  # time.monotonic() after which the lease is taken again before publishing

    # -- one pass -------------------------------------------------------
    def publish_pending(self) -> int:
        """Publish one batch of pending records. Returns how many were confirmed."""
        if not self._hold_lease():
            return 0
        pending = list(
            self.db[OUTBOX].find({"published_at": None}).sort([("created_at", 1), ("_id", 1)]).limit(self.batch_size)
        )
        if not pending:
            return 0
        channel = self._open_channel()
        assert self._confirms is not None
        published = []
        for record in pending:
            envelope = record["envelope"]
            exchange = exchange_for(envelope["type"])
            self._declare(channel, exchange)
            self._confirms.publish(
                exchange,
                envelope["type"],
                encode(envelope),
                pika.BasicProperties(
                    content_type=CONTENT_TYPE,
                    content_encoding="utf-8",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=envelope["id"],
                    type=envelope["type"],
                ),
            )
            published.append(record["_id"])
        self._confirms.wait()  # the whole batch is the broker's before any record is marked published
        now = datetime.now(UTC)
        self.db[OUTBOX].update_many(
            {"_id": {"$in": published}}, {"$set": {"published_at": now, "published_at_ttl": now}}
        )
        metrics.OUTBOX_PUBLISHED.labels(self.db.name).inc(len(published))
        return len(published)

    def pending_count(self) -> int:
        return self.db[OUTBOX].count_documents({"published_at": None})

    # -- loop -------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        backoff = self.poll_seconds
        while not stop.is_set():
            try:
                published = self.publish_pending()
                backoff = self.poll_seconds
                if published:
                    continue
            except _AMQP_ERRORS as exc:
                log.warning("outbox relay cannot reach the broker, retrying", extra={"error": str(exc)})
                self.close()
                backoff = min(backoff * 2, 5.0)
            except PyMongoError as exc:
                log.warning("outbox relay cannot reach MongoDB, retrying", extra={"error": str(exc)})
                backoff = min(backoff * 2, 5.0)
            stop.wait(backoff)
        self._release_lease()
        self.close()

    def close(self) -> None:
        connection, self._connection, self._channel, self._confirms = self._connection, None, None, None
        self._declared.clear()
        if connection is not None:
            try:
                connection.close()
            except _AMQP_ERRORS:
                pass

    # -- internals --------------------------------------------------------
    def _open_channel(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            self.close()
            params = pika.URLParameters(self.amqp_uri)
            params.socket_timeout = 5
            params.blocked_connection_timeout = 30
            self._connection = pika.BlockingConnection(params)
            self._channel = self._connection.channel()
            self._confirms = BatchConfirms(self._connection, self._channel)
        return self._channel

    def _declare(self, channel: Any, exchange: str) -> None:
        if exchange not in self._declared:
            channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
            self._declared.add(exchange)

    def _hold_lease(self) -> bool:
        """Take or renew the relay's lease; False while another relay holds an unexpired one. Renewed once half
        of it has run out, not on every pass: an idle relay polls five times a second (twenty in tests), and
        each renewal is a write MongoDB journals, in every service. Until then the lease is certainly still
        ours: it was written to last LEASE_SECONDS from the take, and only its expiry lets another relay in."""
        now = time.monotonic()
        if now < self._renew_at:
            return True
        if self._lease.take({"_id": "relay"}, self.owner, upsert=True) is None:
            return False
        self._renew_at = now + LEASE_SECONDS / 2
        return True

    def _release_lease(self) -> None:
        self._renew_at = 0.0
        try:
            self._lease.release("relay", self.owner, delete=True)
        except PyMongoError:
            pass


def _nothing() -> None:
    pass


def wait_until_drained(relay: OutboxRelay, timeout: float = 10.0) -> bool:
    """For tests and shutdown: keep publishing until nothing is pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        relay.publish_pending()
        if relay.pending_count() == 0:
            return True
        time.sleep(0.05)
    return False
