"""A hot path's MongoDB transactions written as OP_MSG on a connection borrowed from pymongo (decision 0022).

pymongo spends about half a millisecond of client CPU around each command (session checkout, server
selection, the bulk API, retry bookkeeping, a socket timeout set and reset per read): for the short
transaction of a real-time charging batch that was 3.2 ms of its client CPU, against 0.8 ms for the very same
commands written directly (`bench/charging_txn_bench.py`). Here each command is one OP_MSG (bson's C codec,
document sequences for a write's documents) on a connection pymongo made and keeps: server selection, TLS,
authentication and the handshake stay pymongo's. The logical session id is ours (servers accept a client's
own `lsid`), one per thread, with a transaction number per transaction.

Retries follow the drivers' transactions specification, as pymongo's `with_transaction` does: the whole
transaction again on a `TransientTransactionError` (or a network error before the commit), the commit again
on `UnknownTransactionCommitResult` (or a network error during it), for up to 120 seconds. A command's error
raises what pymongo raises for it (`OperationFailure` with the server's labels, `BulkWriteError` for write
errors, `AutoReconnect` when the server cannot be reached), so callers handle both paths alike.
"""
from __future__ import annotations

import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import Any, TypeVar

import bson
from bson.binary import UUID_SUBTYPE, Binary
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from pymongo.database import Database
from pymongo.errors import AutoReconnect, ConnectionFailure, DuplicateKeyError, OperationFailure
from pymongo.server_selectors import writable_server_selector

from chassis.mongo import UnitOfWork, Updated, WriteTally

T = TypeVar("T")
OP_MSG = 2013
_HEADER = struct.Struct("<iiii")
_INT32 = struct.Struct("<i")
RETRY_SECONDS = 120.0  # pymongo's with_transaction gives a transaction as long
SOCKET_TIMEOUT = 30.0  # a command that long has lost its server
DUPLICATE_KEY = 11000
TRANSIENT, UNKNOWN_COMMIT = "TransientTransactionError", "UnknownTransactionCommitResult"
# The server is not (or no longer) the primary, or is shutting down: the drivers' retryable codes.
_NOT_PRIMARY = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 134})
_NO_SUCH_TRANSACTION = 251
_WRITE_CONFLICT = 112
# A commit retried asks for the majority with a time limit, as the specification says.
_RETRIED_COMMIT_CONCERN = {"w": "majority", "wtimeout": 10_000}
_PAUSE = 0.1  # between attempts on a lost connection


class _Dead(Exception):
    """The connection failed under a command (the command's outcome is unknown)."""


class _Connection:
    """One connection of pymongo's pool, checked out for this thread's transactions and written directly."""

    def __init__(self, db: Database):
        topology = db.client._get_topology()  # pymongo's own selection: the current primary
        server = topology.select_server(writable_server_selector, "wire transaction")
        self._checkout = server.pool.checkout()
        self.connection = self._checkout.__enter__()
        # Once, not per read (pymongo's four ioctls a command); through pymongo, which caches what it set.
        self.connection.set_conn_timeout(SOCKET_TIMEOUT)
        self.sock = self.connection.conn.get_conn
        self.max_message = self.connection.max_message_size
        self.max_batch = self.connection.max_write_batch_size
        self.request = 0

    def command(self, document: dict[str, Any], sequence: tuple[str, list[bytes]] | None,
                codec: CodecOptions) -> dict[str, Any]:
        """Send `document` (its first key names the command), with `sequence` (an identifier and encoded
        documents) as a document-sequence section; returns the reply, decoded with `codec`."""
        body = bson.encode(document, codec_options=codec)
        parts = [b"", b"\x00\x00\x00\x00\x00", body]  # the header, flag bits and a kind-0 section, the command
        if sequence is not None:
            name, documents = sequence
            identifier = name.encode() + b"\x00"
            parts += [b"\x01", _INT32.pack(4 + len(identifier) + sum(map(len, documents))), identifier, *documents]
        self.request += 1
        size = sum(map(len, parts)) + 16
        parts[0] = _HEADER.pack(size, self.request, 0, OP_MSG)
        try:
            self.sock.sendall(b"".join(parts))
            length, _, response_to, opcode = _HEADER.unpack(self._read(16))
            data = self._read(length - 16)
        except OSError as error:
            raise _Dead(str(error)) from error
        if opcode != OP_MSG or response_to != self.request or data[4] != 0:
            raise _Dead(f"unexpected reply (opcode {opcode}, to {response_to}, section {data[4]})")
        return bson.decode(data[5:5 + _INT32.unpack_from(data, 5)[0]], codec_options=codec)

    def _read(self, size: int) -> bytearray:
        data = bytearray(size)
        view, got = memoryview(data), 0
        while got < size:
            n = self.sock.recv_into(view[got:])
            if not n:
                raise OSError("the server closed the connection")
            got += n
        return data

    def close(self, failed: bool) -> None:
        if failed:
            from pymongo.monitoring import ConnectionClosedReason
            self.connection.close_conn(ConnectionClosedReason.ERROR)
        self._checkout.__exit__(None, None, None)  # back to the pool (which drops a closed one)


class WireTransactions:
    """`transaction(fn, source=...)` as `chassis.mongo.transaction` runs it, on the wire. One per process (its
    composition root); a thread's transactions share a connection and a logical session."""

    def __init__(self, db: Database, retry_seconds: float = RETRY_SECONDS):
        self.db, self.retry_seconds = db, retry_seconds
        # Instants read as `datetime.timezone.utc`, as `UnitOfWork.find_documents` reads them.
        self.codec = db.codec_options.with_options(tz_aware=True, tzinfo=UTC)
        self._local = threading.local()
        self._opened: list[_Connection] = []
        self._lock = threading.Lock()

    def transaction(self, fn: Callable[[UnitOfWork], T], *, source: str) -> T:
        """Run `fn` in one transaction, retried on transient errors; `fn` must do nothing outside the
        database (it may run more than once)."""
        deadline = time.monotonic() + self.retry_seconds
        while True:
            txn = _Transaction(self, self._session())
            try:
                result = fn(WireUnitOfWork(self.db, txn, source))
            except BaseException as error:
                txn.abort()
                if _retry(error, deadline):
                    continue
                raise _public(error) from None
            try:
                txn.commit(deadline)
            except BaseException as error:
                if _retry(error, deadline):
                    continue
                raise _public(error) from None
            return result

    def _session(self) -> _Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session()
        return session

    def connection(self) -> _Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = _Connection(self.db)
            except ConnectionFailure as error:
                raise _Dead(str(error)) from error
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def drop(self) -> None:
        """Close this thread's connection after a failure: the next command checks out another."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._local.connection = None
            with self._lock:
                self._opened.remove(connection)
            connection.close(failed=True)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close(failed=False)


class _Session:
    """A logical session of our own: its id, its last transaction's number, the latest operation time seen
    (a transaction's snapshot starts no earlier: this thread reads what it wrote, as pymongo's causally
    consistent sessions do)."""

    def __init__(self) -> None:
        self.lsid = {"id": Binary(uuid.uuid4().bytes, UUID_SUBTYPE)}
        self.number = 0
        self.operation_time: Any = None


class _Transaction:
    def __init__(self, wire: WireTransactions, session: _Session):
        self.wire, self.session = wire, session
        session.number += 1
        self.fields = {"lsid": session.lsid, "txnNumber": Int64(session.number), "autocommit": False}
        self.started = False

    # -- the commands of the transaction -------------------------------------------------------------
    def run(self, name: str, value: Any, fields: dict[str, Any], sequence: tuple[str, list[bytes]] | None = None,
            database: str | None = None) -> dict[str, Any]:
        """The command `{name: value, **fields}` in this transaction (the first one starts it)."""
        document = {name: value, **fields, "$db": database or self.wire.db.name, **self.fields}
        if not self.started:
            concern: dict[str, Any] = {"level": "snapshot"}
            if self.session.operation_time is not None:
                concern["afterClusterTime"] = self.session.operation_time
            document.update(startTransaction=True, readConcern=concern)
            self.started = True
        return self._checked(self._send(document, sequence))

    def _send(self, document: dict[str, Any], sequence: tuple[str, list[bytes]] | None) -> dict[str, Any]:
        connection = self.wire.connection()
        try:
            reply = connection.command(document, sequence, self.wire.codec)
        except _Dead:
            self.wire.drop()
            raise
        if "operationTime" in reply:
            self.session.operation_time = reply["operationTime"]
        if reply.get("code") in _NOT_PRIMARY:  # the next command selects the server again
            self.wire.drop()
        return reply

    @staticmethod
    def _checked(reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ok") != 1:
            code = reply.get("code")
            if code in _NOT_PRIMARY:  # in a transaction the whole transaction is retried on the new primary
                reply.setdefault("errorLabels", []).append(TRANSIENT)
            if code == DUPLICATE_KEY:
                raise DuplicateKeyError(reply.get("errmsg", ""), code, reply)
            raise OperationFailure(reply.get("errmsg", ""), code, reply)
        errors = reply.get("writeErrors")
        if errors and any(e.get("code") == _WRITE_CONFLICT for e in errors):
            raise OperationFailure("write conflict", _WRITE_CONFLICT,
                                   {**reply, "errorLabels": [TRANSIENT], "code": _WRITE_CONFLICT})
        return reply

    def encode(self, documents: Iterable[dict[str, Any]]) -> list[bytes]:
        return [bson.encode(d, codec_options=self.wire.codec) for d in documents]

    def chunks(self, encoded: list[bytes]) -> Iterable[tuple[int, list[bytes]]]:
        """(offset, documents) per command: within the server's batch size and message size."""
        connection = self.wire.connection()
        budget = connection.max_message - 64 * 1024  # room for the command document itself
        start = 0
        while start < len(encoded):
            end, size = start, 0
            while end < len(encoded) and end - start < connection.max_batch and (
                    end == start or size + len(encoded[end]) <= budget):
                size += len(encoded[end])
                end += 1
            yield start, encoded[start:end]
            start = end

    # -- the end of the transaction ------------------------------------------------------------------
    def commit(self, deadline: float) -> None:
        if not self.started:
            return  # it read and wrote nothing: nothing to commit
        concern: dict[str, Any] = {"w": "majority"}
        while True:
            try:
                reply = self._send({"commitTransaction": 1, "$db": "admin", **self.fields,
                                    "writeConcern": concern}, None)
                if reply.get("ok") == 1 and "writeConcernError" in reply:
                    error = reply["writeConcernError"]
                    raise OperationFailure(error.get("errmsg", ""), error.get("code"),
                                           {**reply, "errorLabels": [UNKNOWN_COMMIT]})
                self._checked(reply)
                return
            except (_Dead, OperationFailure) as error:
                unknown = isinstance(error, _Dead) or error.has_error_label(UNKNOWN_COMMIT) or \
                    error.code in _NOT_PRIMARY
                if not unknown or time.monotonic() >= deadline:
                    raise
                if isinstance(error, _Dead):
                    time.sleep(_PAUSE)
                concern = _RETRIED_COMMIT_CONCERN  # the same commit again: it is idempotent

    def abort(self) -> None:
        """Give up the transaction; it does not matter if the server already has (or cannot be reached)."""
        if not self.started:
            return
        try:
            self._send({"abortTransaction": 1, "$db": "admin", **self.fields}, None)
        except _Dead:
            pass


def _retry(error: BaseException, deadline: float) -> bool:
    """Whether to run the transaction again: a transient error, within the time given. A lost server is given
    a moment (a primary is being elected, a connection refused); a write conflict is retried at once."""
    if time.monotonic() >= deadline:
        return False
    if isinstance(error, _Dead):
        time.sleep(_PAUSE)
        return True
    return isinstance(error, OperationFailure) and error.has_error_label(TRANSIENT)


def _public(error: BaseException) -> BaseException:
    """What pymongo would raise: a dead connection is `AutoReconnect` (a `ConnectionFailure`)."""
    return AutoReconnect(str(error)) if isinstance(error, _Dead) else error


class _NotASession:
    """`WireUnitOfWork.session`: code that would write outside the transaction (a pymongo collection method
    given `session=uow.session`) fails instead."""

    def __getattr__(self, name: str) -> Any:
        raise TypeError("a wire unit of work has no pymongo session: use find/insert/update_documents")


class WireUnitOfWork(UnitOfWork):
    """A unit of work whose commands (`find_documents`, `insert_documents`, `update_documents`, events) go on
    the wire. Its mongoengine-document methods need a pymongo session and are refused."""

    def __init__(self, db: Database, txn: _Transaction, source: str):
        super().__init__(db, _NotASession(), source)  # type: ignore[arg-type]
        self.txn = txn

    def collection(self, target: Any) -> Any:
        raise TypeError("a wire unit of work has no pymongo collections: use find/insert/update_documents")

    def next_sequence(self, name: str) -> int:
        raise TypeError("sequences are not on the wire")

    def find_documents(self, collection: str, query: dict[str, Any], projection: dict[str, Any] | None = None
                       ) -> list[dict[str, Any]]:
        fields: dict[str, Any] = {"filter": query}
        if projection is not None:
            fields["projection"] = projection
        cursor = self.txn.run("find", collection, fields)["cursor"]
        found = list(cursor["firstBatch"])
        while cursor["id"]:
            cursor = self.txn.run("getMore", Int64(cursor["id"]), {"collection": collection})["cursor"]
            found += cursor["nextBatch"]
        return found

    def insert_documents(self, collection: str, documents: list[dict[str, Any]], *, ordered: bool) -> None:
        for document in documents:  # as pymongo does: a document without an id gets one
            document.setdefault("_id", bson.ObjectId())
        self._write("insert", collection, "documents", documents, ordered).raise_failed(inserting=True)

    def update_documents(self, collection: str, statements: list[dict[str, Any]], *, ordered: bool = False
                         ) -> Updated:
        tally = self._write("update", collection, "updates", statements, ordered)
        tally.raise_failed()
        return tally.updated()

    def _write(self, command: str, collection: str, name: str, items: list[dict[str, Any]], ordered: bool
               ) -> WriteTally:
        """`items` written in as many commands as they need, their replies added up."""
        tally = WriteTally()
        for offset, chunk in self.txn.chunks(self.txn.encode(items)):
            tally.add(offset, self.txn.run(command, collection, {"ordered": ordered}, (name, chunk)))
            if tally.failed and ordered:
                break
        return tally
