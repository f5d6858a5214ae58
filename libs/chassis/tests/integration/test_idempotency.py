from chassis.envelope import new_event
from chassis.idempotency import apply_once


def test_an_event_delivered_twice_is_applied_once(chassis_db, widget_cls):
    event = new_event("customer.created", "customer", {"id": 1})
    effect = lambda uow: uow.insert(widget_cls(id=widget_cls.objects.count() + 1, name="applied"))  # noqa: E731
    assert apply_once("billing.on_customer_created", event, effect) is True
    assert apply_once("billing.on_customer_created", event, effect) is False
    assert chassis_db.widgets.count_documents({}) == 1


def test_each_consumer_applies_the_same_event_for_itself(chassis_db, widget_cls):
    event = new_event("customer.created", "customer", {"id": 1})
    assert apply_once("billing.a", event, lambda uow: uow.insert(widget_cls(id=1, name="a")))
    assert apply_once("rating.b", event, lambda uow: uow.insert(widget_cls(id=2, name="b")))
    assert chassis_db.widgets.count_documents({}) == 2


def test_a_failed_effect_does_not_mark_the_event_applied(chassis_db, widget_cls):
    event = new_event("customer.created", "customer", {"id": 1})

    def failing(uow):
        uow.insert(widget_cls(id=9, name="x"))
        raise RuntimeError("database hiccup")

    try:
        apply_once("billing.c", event, failing)
    except RuntimeError:
        pass
    assert apply_once("billing.c", event, lambda uow: uow.insert(widget_cls(id=9, name="x"))) is True
    assert chassis_db.applied_events.count_documents({}) == 1
