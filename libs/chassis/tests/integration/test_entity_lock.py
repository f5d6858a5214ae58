import threading

from chassis.discarded import record_discarded, was_discarded
from chassis.mongo import transaction


def test_a_check_and_a_concurrent_tombstone_cannot_both_commit(chassis_db, widget_cls):
    """Write skew: a create checks for a tombstone while a purge writes it. Without the entity lock both
    commit (each saw its own snapshot) and the purged entity comes back."""
    checked, purged = threading.Event(), threading.Event()
    attempts = []

    def create(uow):
        attempts.append(1)
        if was_discarded(uow, "widget", "7"):
            return "skipped"
        if len(attempts) == 1:
            checked.set()
            purged.wait(10)  # the purge commits between our check and our insert
        uow.insert(widget_cls(id=7, name="late create"))
        return "created"

    outcome = {}
    creator = threading.Thread(target=lambda: outcome.setdefault("create", transaction(create, source="customer")))
    creator.start()
    assert checked.wait(10)
    transaction(lambda uow: record_discarded(uow, "widget", "7"), source="customer")
    purged.set()
    creator.join(30)

    assert outcome["create"] == "skipped"
    assert len(attempts) == 2  # the driver retried the create after the conflict
    assert chassis_db.widgets.count_documents({}) == 0
