from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from billing.entrypoints.worker import BillingService
from chassis.nameko_adapter import CloudEventHandler, handled_event_queues


def test_billing_listens_to_customer_created_on_a_dead_lettered_queue():
    [queue] = handled_event_queues(BillingService)
    assert queue.name == "evt-customer-customer.created--billing.on_customer_created"
    assert queue.exchange.name == "customer.events"
    assert queue.queue_arguments["x-dead-letter-routing-key"] == queue.name
    [handler] = getattr(BillingService.on_customer_created, ENTRYPOINT_EXTENSIONS_ATTR)
    assert isinstance(handler, CloudEventHandler)
