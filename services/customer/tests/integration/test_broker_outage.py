import threading
import time
import uuid

import pika

from chassis import localinfra
from chassis.outbox import OutboxRelay
from customer.bootstrap import transactions
from customer.service_layer import customers

UOW = transactions()

CONTACT = {"tag": "home", "firstName": "Ada", "lastName": "Lovelace", "phone": "+44 20 7946 0001",
           "address": "1 Home Road", "city": "London", "state": "LND", "country": "GB"}


def run_relay(relay):
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    return lambda: (stop.set(), thread.join(10))


def test_a_customer_created_while_the_broker_is_away_is_announced_when_it_returns(customer_db, seed,
                                                                                     amqp_base_uri):
    db = customer_db
    vhost = f"test-outage-{uuid.uuid4().hex[:8]}"
    uri = localinfra.with_vhost(amqp_base_uri, vhost)  # the vhost does not exist: the relay cannot connect
    relay = OutboxRelay(db, uri, poll_seconds=0.05)
    stop_relay = run_relay(relay)
    try:
        # The catalog check is RPC and needs the broker too; the write path is the one under test.
        customer = customers.get_customer(UOW, seed(email="ada@example.com"))
        customers.add_contact(UOW, customer["id"], {**CONTACT, "email": "ada@example.com"})
        assert db.customers.find_one({"_id": customer["id"]})  # stored despite the outage
        time.sleep(0.5)
        assert relay.pending_count() == 1  # the relay tried, failed, and kept the event
        stop_relay()

        # The broker returns with the consumers' queues in place (as `migrate` declares them).
        localinfra.create_vhost(vhost)
        connection = pika.BlockingConnection(pika.URLParameters(uri))
        channel = connection.channel()
        channel.exchange_declare("customer.events", exchange_type="topic", durable=True)
        channel.queue_declare("billing-like", auto_delete=True)
        channel.queue_bind("billing-like", "customer.events", routing_key="customer.updated")
        stop_relay = run_relay(relay)
        body, deadline = None, time.monotonic() + 20
        while body is None and time.monotonic() < deadline:
            _, _, body = channel.basic_get("billing-like", auto_ack=True)
            time.sleep(0.05)
        connection.close()
    finally:
        stop_relay()
        localinfra.delete_vhost(vhost)
    assert body is not None and b'"email":"ada@example.com"' in body
    assert relay.pending_count() == 0
