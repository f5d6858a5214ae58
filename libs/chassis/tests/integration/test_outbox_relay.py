import json
import threading
import time

import pytest

from chassis import localinfra
from chassis.mongo import OUTBOX, transaction
from chassis.outbox import NotConfirmed, OutboxRelay, wait_until_drained

CREATED = {"id": 1, "firstName": "Ada", "lastName": "L", "email": "ada@example.com", "status": "active",
           "createdAt": "2026-01-01T00:00:00+00:00"}


def publish_one(customer_id=1):
    return transaction(lambda uow: uow.publish("customer.created", {**CREATED, "id": customer_id},
                                               subject=str(customer_id)), source="customer")


def read_messages(channel, queue, expected, timeout=10):
    messages, deadline = [], time.monotonic() + timeout
    while len(messages) < expected and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        messages.append((method, properties, json.loads(body)))
    return messages


def test_the_relay_publishes_committed_events_as_cloudevents(chassis_db, amqp_uri, bound_queue):
    channel, queue = bound_queue
    event = publish_one()
    relay = OutboxRelay(chassis_db, amqp_uri)
    assert wait_until_drained(relay)
    relay.close()
    [(method, properties, body)] = read_messages(channel, queue, 1)
    assert method.routing_key == "customer.created"
    assert properties.content_type == "application/cloudevents+json"
    assert properties.delivery_mode == 2
    assert properties.message_id == event.id
    assert body["id"] == event.id and body["data"] == CREATED
    assert chassis_db[OUTBOX].find_one({"_id": event.id})["published_at"] is not None


def test_events_wait_in_the_outbox_while_the_broker_is_away_and_flow_when_it_returns(chassis_db, scratch_vhost):
    vhost, uri = scratch_vhost
    localinfra.delete_vhost(vhost)  # the broker is unreachable for this relay
    relay = OutboxRelay(chassis_db, uri, poll_seconds=0.05)

    def start():
        stop = threading.Event()
        thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        thread.start()
        return lambda: (stop.set(), thread.join(10))

    stop_relay = start()
    try:
        events = [publish_one(i) for i in (1, 2, 3)]  # the business writes still succeed
        time.sleep(1.0)
        assert relay.pending_count() == 3
        stop_relay()  # pause while the broker comes back with its queue bound (as `migrate` does)

        localinfra.create_vhost(vhost)
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(uri))
        channel = connection.channel()
        channel.exchange_declare("customer.events", exchange_type="topic", durable=True)
        channel.queue_declare("back", auto_delete=True)
        channel.queue_bind("back", "customer.events", routing_key="#")
        stop_relay = start()
        received = read_messages(channel, "back", 3, timeout=20)
        connection.close()
    finally:
        stop_relay()
    assert [body["id"] for _, _, body in received] == [e.id for e in events]  # in commit order
    assert relay.pending_count() == 0


def test_only_one_relay_per_database_publishes_at_a_time(chassis_db, amqp_uri):
    first, second = OutboxRelay(chassis_db, amqp_uri), OutboxRelay(chassis_db, amqp_uri)
    publish_one()
    assert first.publish_pending() == 1
    publish_one(2)
    assert second.publish_pending() == 0  # lease held by the first
    assert first.publish_pending() == 1
    first.close()
    second.close()


def test_an_idle_relay_renews_its_lease_once_half_of_it_has_run_out_not_on_every_pass(chassis_db, amqp_uri):
    relay = OutboxRelay(chassis_db, amqp_uri)
    try:
        assert relay.publish_pending() == 0
        taken = chassis_db.outbox_lease.find_one({"_id": "relay"})
        for _ in range(5):
            assert relay.publish_pending() == 0
        assert chassis_db.outbox_lease.find_one({"_id": "relay"}) == taken  # not written again
        publish_one()
        assert relay.publish_pending() == 1  # still the holder: it publishes without a write to the lease
        relay._renew_at = 0.0  # as when half of the lease has run out
        assert relay.publish_pending() == 0
        assert chassis_db.outbox_lease.find_one({"_id": "relay"})["until"] > taken["until"]
    finally:
        relay.close()


@pytest.mark.parametrize("batch", [1, 5])
def test_a_backlog_drains_in_batches(chassis_db, amqp_uri, bound_queue, batch):
    channel, queue = bound_queue
    for i in range(7):
        publish_one(i + 1)
    relay = OutboxRelay(chassis_db, amqp_uri, batch_size=batch)
    assert wait_until_drained(relay)
    relay.close()
    assert len(read_messages(channel, queue, 7)) == 7


def test_a_batch_is_confirmed_whole_and_one_the_broker_refuses_stays_pending(chassis_db, scratch_vhost):
    _, uri = scratch_vhost
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.exchange_declare("customer.events", exchange_type="topic", durable=True)
    # A full queue that rejects what does not fit: the broker nacks those publishes.
    channel.queue_declare("full", durable=True, arguments={"x-max-length": 2, "x-overflow": "reject-publish"})
    channel.queue_bind("full", "customer.events", routing_key="#")
    relay = OutboxRelay(chassis_db, uri)
    try:
        publish_one(1), publish_one(2)
        assert relay.publish_pending() == 2  # both in one batch, confirmed together
        publish_one(3)
        with pytest.raises(NotConfirmed, match="refused 1"):
            relay.publish_pending()
        assert relay.pending_count() == 1  # never marked published: the relay tries again later
        channel.queue_purge("full")
        assert relay.publish_pending() == 1
        assert relay.pending_count() == 0
    finally:
        relay.close()
        connection.close()
