import pymongo
import pytest
from pymongo import monitoring

from chassis.contracts import ContractError
from chassis.mongo import OUTBOX, next_sequence, transaction

CREATED = {"id": 1, "firstName": "Ada", "lastName": "L", "email": "ada@example.com", "status": "active",
           "createdAt": "2026-01-01T00:00:00+00:00"}


def test_a_state_change_and_its_event_commit_together(chassis_db, widget_cls):
    def work(uow):
        uow.insert(widget_cls(id=1, name="first"))
        return uow.publish("customer.created", CREATED, subject="1")

    event = transaction(work, source="customer")
    assert chassis_db.widgets.count_documents({}) == 1
    record = chassis_db[OUTBOX].find_one({"_id": event.id})
    assert record["published_at"] is None
    assert record["envelope"]["type"] == "customer.created"
    assert record["envelope"]["source"] == "customer"
    assert record["envelope"]["data"] == CREATED


def test_a_failure_after_writing_leaves_neither_state_nor_event(chassis_db, widget_cls):
    def work(uow):
        uow.insert(widget_cls(id=2, name="second"))
        uow.publish("customer.created", CREATED)
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        transaction(work, source="customer")
    assert chassis_db.widgets.count_documents({}) == 0
    assert chassis_db[OUTBOX].count_documents({}) == 0


def test_many_events_are_recorded_with_one_outbox_write_and_a_bad_one_records_none(chassis_db, widget_cls):
    events = transaction(lambda uow: uow.publish_many(
        [("customer.created", {**CREATED, "id": n}, str(n)) for n in (10, 11, 12)]), source="customer")
    assert [e.data["id"] for e in events] == [10, 11, 12]
    assert chassis_db[OUTBOX].count_documents({"_id": {"$in": [e.id for e in events]}}) == 3
    with pytest.raises(ContractError):
        transaction(lambda uow: uow.publish_many([("customer.created", {**CREATED, "id": 13}, None),
                                                  ("customer.created", {**CREATED, "id": "x"}, None)]),
                    source="customer")
    assert chassis_db[OUTBOX].count_documents({}) == 3


def test_an_event_breaking_its_contract_aborts_the_transaction(chassis_db, widget_cls):
    def work(uow):
        uow.insert(widget_cls(id=3, name="third"))
        uow.publish("customer.created", {**CREATED, "id": "three"})

    with pytest.raises(ContractError):
        transaction(work, source="customer")
    assert chassis_db.widgets.count_documents({}) == 0


def test_sequences_count_up_without_gaps_and_roll_back_with_their_transaction(chassis_db):
    assert [next_sequence(chassis_db, "customer") for _ in range(3)] == [1, 2, 3]

    def allocate_then_fail(uow):
        uow.next_sequence("customer")
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        transaction(allocate_then_fail, source="customer")
    assert transaction(lambda uow: uow.next_sequence("customer"), source="customer") == 4


def test_concurrent_allocations_never_hand_out_the_same_number(chassis_db):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda _: transaction(lambda uow: uow.next_sequence("c"), source="customer"),
                                range(64)))
    assert sorted(numbers) == list(range(1, 65))


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.sent = []

    def started(self, event):
        self.sent.append(event.command)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_a_transaction_reads_one_snapshot_and_commits_with_a_majority_whatever_the_client_defaults_to(
        chassis_db):
    # Decision 0412: on one node other concerns cost the same; on several, w:1 or a local read could commit
    # what a failover rolls back. The client here defaults to w:1, the transaction must not inherit it.
    listener = _Commands()
    client = pymongo.MongoClient(chassis_db.client.address[0], chassis_db.client.address[1], directConnection=True,
                                 w=1, event_listeners=[listener])
    try:
        transaction(lambda uow: uow.collection("widgets").insert_one({"_id": 99}, session=uow.session),
                    source="customer", db=client[chassis_db.name])
    finally:
        client.close()
    first, commit = [c for c in listener.sent if "lsid" in c and "txnNumber" in c]
    assert first["readConcern"] == {"level": "snapshot"} and "writeConcern" not in first
    assert commit["commitTransaction"] == 1 and commit["writeConcern"]["w"] == "majority"
    assert chassis_db.widgets.count_documents({"_id": 99}) == 1
