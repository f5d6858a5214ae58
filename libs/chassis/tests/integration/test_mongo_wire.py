"""Transactions on the wire (chassis.mongo_wire) against a real replica set: what they write, what they refuse,
and how they come through write conflicts, lost connections and a lost server."""
import threading
import uuid

import pymongo
import pytest
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure

from chassis.mongo import OUTBOX, transaction
from chassis.mongo_wire import WireTransactions

CREATED = {"id": 1, "firstName": "Ada", "lastName": "L", "email": "ada@example.com", "status": "active",
           "createdAt": "2026-01-01T00:00:00+00:00"}


@pytest.fixture
def wire(chassis_db):
    # A client of its own, named, so a fail point can pick its commands out of the test's others.
    name = f"wire-{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(chassis_db.client.address[0], chassis_db.client.address[1], appname=name,
                                 directConnection=True, tz_aware=True, uuidRepresentation="standard")
    transactions = WireTransactions(client[chassis_db.name])
    transactions.app_name = name
    yield transactions
    transactions.close()
    client.close()


@pytest.fixture
def fail_point(chassis_db, wire):
    """`fail_point(commands, times, **data)`: the next `times` of `commands` from the wire's client fail so."""
    admin = chassis_db.client.admin
    set_ = []

    def arm(commands, times=1, **data):
        if admin.command("getParameter", 1, enableTestCommands=1).get("enableTestCommands") is not True:
            pytest.skip("this MongoDB does not run test commands (MONGODB_URI given)")
        admin.command("configureFailPoint", "failCommand", mode={"times": times},
                      data={"failCommands": commands, "appName": wire.app_name, **data})
        set_.append(True)

    yield arm
    if set_:
        admin.command("configureFailPoint", "failCommand", mode="off")


@pytest.fixture(params=["pymongo", "wire"])
def transact(request, wire):
    """Both ways of running a hot path's transaction: they must behave alike."""
    return transaction if request.param == "pymongo" else wire.transaction


def test_a_wire_transaction_commits_its_documents_updates_and_events_together(chassis_db, transact):
    def work(uow):
        uow.insert_documents("things", [{"_id": "a", "n": 1}, {"_id": "b", "n": 2}], ordered=False)
        updated = uow.update_documents("things", [{"q": {"_id": "a"}, "u": {"$inc": {"n": 10}}},
                                                  {"q": {"_id": "c"}, "u": {"$set": {"n": 3}}, "upsert": True}])
        uow.publish("customer.created", CREATED, subject="1")
        return updated, uow.find_documents("things", {}, {"n": 1})

    updated, seen = transact(work, source="customer")
    assert (updated.matched, updated.modified, updated.upserted) == (1, 1, {1: "c"})
    assert sorted((d["_id"], d["n"]) for d in seen) == [("a", 11), ("b", 2), ("c", 3)]  # its own writes
    assert sorted((d["_id"], d["n"]) for d in chassis_db.things.find()) == [("a", 11), ("b", 2), ("c", 3)]
    assert chassis_db[OUTBOX].count_documents({"type": "customer.created"}) == 1


def test_a_failure_inside_a_wire_transaction_leaves_nothing_written(chassis_db, transact):
    def work(uow):
        uow.insert_documents("things", [{"_id": "a"}], ordered=True)
        uow.publish("customer.created", CREATED)
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        transact(work, source="customer")
    assert chassis_db.things.count_documents({}) == 0
    assert chassis_db[OUTBOX].count_documents({}) == 0


def test_a_taken_id_fails_the_write_naming_its_index_and_the_transaction_keeps_nothing(chassis_db, transact):
    chassis_db.things.insert_one({"_id": "taken"})

    def work(uow):
        uow.insert_documents("things", [{"_id": "x"}, {"_id": "taken"}, {"_id": "y"}], ordered=False)

    with pytest.raises(BulkWriteError) as raised:
        transact(work, source="customer")
    assert [(e["index"], e["code"]) for e in raised.value.details["writeErrors"]] == [(1, 11000)]
    assert sorted(d["_id"] for d in chassis_db.things.find()) == ["taken"]


def test_finds_read_past_the_first_batch_of_a_cursor(chassis_db, wire):
    chassis_db.things.insert_many([{"_id": n} for n in range(450)])
    found = wire.transaction(lambda uow: uow.find_documents("things", {"_id": {"$gte": 0}}), source="customer")
    assert sorted(d["_id"] for d in found) == list(range(450))


def test_writes_larger_than_a_command_are_split_and_an_error_names_its_index_in_the_whole(chassis_db, wire):
    chassis_db.things.insert_one({"_id": 7})

    def work(uow):
        uow.txn.wire.connection().max_batch = 3  # as if the server took three documents per command
        uow.insert_documents("things", [{"_id": n} for n in range(10) if n != 7] + [{"_id": 7}], ordered=False)

    with pytest.raises(BulkWriteError) as raised:
        wire.transaction(work, source="customer")
    assert [e["index"] for e in raised.value.details["writeErrors"]] == [9]
    assert raised.value.details["nInserted"] == 9


def test_concurrent_transactions_on_one_document_are_each_applied_exactly_once(chassis_db, wire):
    chassis_db.counters.insert_one({"_id": "c", "n": 0})
    runs = []

    def bump(uow):
        runs.append(1)
        [counter] = uow.find_documents("counters", {"_id": "c"})
        uow.update_documents("counters", [{"q": {"_id": "c"}, "u": {"$set": {"n": counter["n"] + 1}}}])

    def worker():
        for _ in range(40):
            wire.transaction(bump, source="customer")

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A read-modify-write: only a conflict detected and retried keeps every increment.
    assert chassis_db.counters.find_one({"_id": "c"})["n"] == 120
    assert len(runs) >= 120


def test_a_write_conflict_mid_transaction_runs_the_whole_transaction_again(chassis_db, wire, fail_point):
    fail_point(["update"], errorCode=112, errorLabels=["TransientTransactionError"])
    runs = []

    def work(uow):
        runs.append(1)
        uow.insert_documents("things", [{"_id": "once"}], ordered=True)
        uow.update_documents("things", [{"q": {"_id": "once"}, "u": {"$inc": {"n": 1}}}])

    wire.transaction(work, source="customer")
    assert len(runs) == 2
    assert list(chassis_db.things.find()) == [{"_id": "once", "n": 1}]


def test_a_connection_lost_before_the_commit_runs_the_transaction_again_on_a_new_one(chassis_db, wire, fail_point):
    fail_point(["insert"], closeConnection=True)
    runs = []

    def work(uow):
        runs.append(1)
        uow.insert_documents("things", [{"_id": "once"}], ordered=True)

    wire.transaction(work, source="customer")
    assert len(runs) == 2
    assert chassis_db.things.count_documents({}) == 1


def test_a_commit_whose_connection_dies_is_committed_again_and_applied_once(chassis_db, wire, fail_point):
    fail_point(["commitTransaction"], closeConnection=True)
    runs = []

    def work(uow):
        runs.append(1)
        uow.update_documents("things", [{"q": {"_id": "c"}, "u": {"$inc": {"n": 1}}, "upsert": True}])

    wire.transaction(work, source="customer")
    assert len(runs) == 1  # the commit was retried, not the transaction
    assert chassis_db.things.find_one({"_id": "c"})["n"] == 1


def test_a_server_error_that_is_not_transient_is_raised_as_pymongo_raises_it(chassis_db, wire, fail_point):
    fail_point(["find"], errorCode=2, errmsg="bad value")  # BadValue, no label
    with pytest.raises(OperationFailure) as raised:
        wire.transaction(lambda uow: uow.find_documents("things", {}), source="customer")
    assert raised.value.code == 2
    # The next transaction goes on as before.
    assert wire.transaction(lambda uow: uow.find_documents("things", {}), source="customer") == []


def test_a_server_that_cannot_be_reached_raises_a_connection_failure_after_the_retry_time():
    client = pymongo.MongoClient("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200&directConnection=true")
    wire = WireTransactions(client["nowhere"], retry_seconds=0.5)
    with pytest.raises(ConnectionFailure):
        wire.transaction(lambda uow: uow.find_documents("things", {}), source="customer")
    client.close()


def test_the_wire_unit_of_work_refuses_calls_that_would_write_outside_its_transaction(chassis_db, wire):
    def work(uow):
        with pytest.raises(TypeError):
            uow.collection("things")
        with pytest.raises(TypeError):
            uow.db.things.insert_one({"_id": "escaped"}, session=uow.session)

    wire.transaction(work, source="customer")
    assert chassis_db.things.count_documents({}) == 0
