"""The cost of one charging-shaped MongoDB transaction under each read and write concern (decision 0412).

Starts its own single-node replica set and runs, one after another, transactions shaped like a warm charging
batch of one reserve and one commit: find the balances of a balance group, insert a usage record, `$inc` one
balance, upsert one reservation, commit. The variants (read concern of the transaction x the commit's write
concern) are interleaved round by round so the machine's drift hits each alike; one more variant writes the
same commands as OP_MSG on a socket of its own, to price pymongo's per-operation machinery. Prints per variant
the transaction's wall time p50 / p99 and the CPU per transaction of mongod and of this (client) process.

    .venv/bin/python bench/charging_txn_bench.py --transactions 3000 --rounds 3
"""
from __future__ import annotations

import argparse
import resource
import socket
import statistics
import struct
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import bson
import pymongo
from bson.binary import UUID_SUBTYPE, Binary
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from chassis import localinfra

from support import cpu_seconds

VARIANTS = {
    "snapshot + majority": (ReadConcern("snapshot"), WriteConcern("majority")),
    "snapshot + majority, no find": (ReadConcern("snapshot"), WriteConcern("majority"), "no find"),
    "snapshot + majority, no usage": (ReadConcern("snapshot"), WriteConcern("majority"), "no usage"),
    "local + majority": (ReadConcern("local"), WriteConcern("majority")),
    "snapshot + w1 j": (ReadConcern("snapshot"), WriteConcern(w=1, j=True)),
    "local + w1 j": (ReadConcern("local"), WriteConcern(w=1, j=True)),
    # The same transaction's commands written as OP_MSG on a socket of our own: what pymongo's machinery around
    # each operation (sessions, retries, server selection, bulk API) costs the client.
    "snapshot + majority, raw OP_MSG": (ReadConcern("snapshot"), WriteConcern("majority"), "raw"),
}
GROUPS = 500
OP_MSG = 2013


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def seed(db: Any) -> None:
    db.balances.create_index("balance_group_id")
    db.balances.insert_many([{"_id": f"b{g}-{k}", "balance_group_id": f"g{g}", "resource": "EUR" if k else "MIN",
                              "amount": Decimal128("-1000000"), "held": Decimal128("0")}
                             for g in range(GROUPS) for k in range(2)])


class RawWire:
    """The least a client can do for a transaction: each command as one OP_MSG (bson's C codec) on one socket,
    the server session id made here (servers accept a client's own `lsid`), a transaction number per transaction.
    No retries, no server selection, no cluster time: a measuring instrument, not a driver."""

    def __init__(self, address: tuple[str, int]):
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lsid = {"id": Binary(uuid.uuid4().bytes, UUID_SUBTYPE)}
        self.requests = self.transactions = 0

    def command(self, document: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        body = b"\x00\x00\x00\x00\x00" + bson.encode(document)  # flag bits, then a kind-0 section
        self.sock.sendall(struct.pack("<iiii", 16 + len(body), self.requests, 0, OP_MSG) + body)
        length = struct.unpack("<i", self._read(16)[:4])[0]
        reply = bson.decode(self._read(length - 16)[5:])
        if not reply.get("ok") or reply.get("writeErrors"):
            raise RuntimeError(reply)
        return reply

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("mongod closed the connection")
            data += chunk
        return bytes(data)

    def transaction(self, n: int) -> None:
        self.transactions += 1
        group = f"g{n % GROUPS}"
        common = {"$db": "bench", "lsid": self.lsid, "txnNumber": Int64(self.transactions), "autocommit": False}
        self.command({"find": "balances", "filter": {"balance_group_id": group}, **common, "startTransaction": True,
                      "readConcern": {"level": "snapshot"}})
        self.command({"insert": "usage", "documents": [{"_id": uuid.uuid4().hex, "balance_group_id": group,
                                                        "amount": Decimal128("0.5")}], **common})
        self.command({"update": "balances", "updates": [{"q": {"_id": f"b{n % GROUPS}-1"}, "u": {"$inc": {
            "amount": Decimal128("0.5"), "held": Decimal128("0")}}}], **common})
        self.command({"update": "reservations", "updates": [{"q": {"_id": uuid.uuid4().hex}, "u": {"$setOnInsert": {
            "status": "active", "granted": Decimal128(Decimal("1"))}}, "upsert": True}], **common})
        # The command's name is the document's first key.
        self.command({"commitTransaction": 1, **common, "$db": "admin", "writeConcern": {"w": "majority"}})


def one(client: Any, db: Any, concerns: tuple[Any, ...], n: int) -> None:
    group = f"g{n % GROUPS}"
    shape = concerns[2] if len(concerns) > 2 else ""
    if shape == "raw":
        client.raw.transaction(n)
        return

    def body(session: Any) -> None:
        if shape != "no find":
            list(db.balances.find({"balance_group_id": group}, session=session))
        if shape != "no usage":
            db.usage.insert_many([{"_id": uuid.uuid4().hex, "balance_group_id": group, "amount": Decimal128("0.5")}],
                                 session=session)
        db.balances.update_one({"_id": f"b{n % GROUPS}-1"}, {"$inc": {"amount": Decimal128("0.5"),
                                                                      "held": Decimal128("0")}}, session=session)
        db.reservations.bulk_write([pymongo.UpdateOne({"_id": uuid.uuid4().hex}, {"$setOnInsert": {
            "status": "active", "granted": Decimal128(Decimal("1"))}}, upsert=True)], session=session)

    with client.start_session() as session:
        session.with_transaction(body, read_concern=concerns[0], write_concern=concerns[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=500, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="txn-bench-") as tmp:
        replica_set = localinfra.MongoReplicaSet(Path(tmp))
        replica_set.start()
        try:
            assert replica_set.process is not None
            mongod = replica_set.process.pid
            client: Any = pymongo.MongoClient(replica_set.uri)
            client.raw = RawWire(client.address)
            db = client["bench"]
            seed(db)
            for n in range(500):  # warm up
                one(client, db, VARIANTS["snapshot + majority"], n)
            results: dict[str, dict[str, list[float]]] = {name: {"wall": [], "mongod": [], "client": []}
                                                          for name in VARIANTS}
            for _ in range(args.rounds):
                for name, concerns in VARIANTS.items():
                    walls = []
                    before_mongod, before_client = cpu_seconds(mongod), own_cpu()
                    for n in range(args.transactions):
                        start = time.perf_counter()
                        one(client, db, concerns, n)
                        walls.append(time.perf_counter() - start)
                    results[name]["wall"].extend(walls)
                    results[name]["mongod"].append((cpu_seconds(mongod) - before_mongod) / args.transactions)
                    results[name]["client"].append((own_cpu() - before_client) / args.transactions)
            for name, figures in results.items():
                walls = sorted(figures["wall"])
                p99 = walls[int(len(walls) * 0.99)]
                print(f"{name:30} wall p50 {statistics.median(walls) * 1e3:5.2f} ms, p99 {p99 * 1e3:5.2f} ms; "
                      f"CPU per transaction mongod {min(figures['mongod']) * 1e3:.3f}-"
                      f"{max(figures['mongod']) * 1e3:.3f} ms, client {min(figures['client']) * 1e3:.3f}-"
                      f"{max(figures['client']) * 1e3:.3f} ms")
            client.close()
        finally:
            replica_set.stop()


if __name__ == "__main__":
    main()
