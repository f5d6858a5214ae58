import pytest

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
