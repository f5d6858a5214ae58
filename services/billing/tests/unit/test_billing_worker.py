from billing.entrypoints.worker import BillingService
from chassis.envelope import producer_of
from chassis.nameko_adapter import handled_event_queues


def test_billing_consumes_customer_events_on_dead_lettered_queues_of_its_own():
    queues = {queue.routing_key: queue for queue in handled_event_queues(BillingService)}
    assert {"customer.created", "customer.purged", "subscription.created", "subscription.changed",
            "subscription.cancelled", "usage.charged", "balance.adjusted", "usage.adjusted"} <= set(queues)
    for event_type, queue in queues.items():
        producer = producer_of(event_type)  # rating publishes subscription.*, usage.* and balance.*
        assert queue.name.startswith(f"evt-{producer}-{event_type}--billing.")
        assert queue.exchange.name == f"{producer}.events"
        assert queue.durable
        assert queue.queue_arguments["x-dead-letter-routing-key"] == queue.name
