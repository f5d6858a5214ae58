import uuid

import mongoengine as me
import pika
import pytest

from chassis import localinfra


class Widget(me.Document):
    meta = {"collection": "widgets"}
    id = me.IntField(primary_key=True)
    name = me.StringField(required=True)


@pytest.fixture
def widget_cls():
    return Widget


@pytest.fixture
def chassis_db(service_db):
    """An empty database for a pretend 'customer' service (its event schemas exist)."""
    return service_db("customer")


@pytest.fixture
def bound_queue(amqp_uri):
    """A queue bound to customer.events, so published events can be read back."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("customer.events", exchange_type="topic", durable=True)
    name = f"test-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, auto_delete=True)
    channel.queue_bind(name, "customer.events", routing_key="customer.*")
    yield channel, name
    connection.close()


@pytest.fixture
def scratch_vhost(amqp_base_uri):
    """A vhost that a test may delete and recreate (a broker that goes away and comes back)."""
    name = f"test-scratch-{uuid.uuid4().hex[:8]}"
    localinfra.create_vhost(name)
    yield name, localinfra.with_vhost(amqp_base_uri, name)
    localinfra.delete_vhost(name)
