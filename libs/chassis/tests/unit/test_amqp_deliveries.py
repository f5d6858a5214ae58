"""The consumers' own reading of deliveries (the usage stream's, the batch RPC server's) gives what pika decodes
from the same bytes, and leaves every other frame to pika."""
import itertools
from datetime import datetime

import pika
import pytest
from pika import frame, spec

from chassis.amqp_deliveries import FOREIGN, INCOMPLETE, next_delivery

TAG = "ctag1.0f3f1f8e2b11"


def _deliver(channel, properties, body, *, tag=TAG, delivery_tag=7, redelivered=False, chunk=4088,
             exchange="usage", routing_key="data.v1"):
    method = spec.Basic.Deliver(tag, delivery_tag, redelivered, exchange, routing_key)
    frames = [frame.Method(channel, method).marshal(),
              frame.Header(channel, len(body), properties).marshal()]
    frames += [frame.Body(channel, body[i:i + chunk]).marshal() for i in range(0, len(body), chunk)]
    return b"".join(frames)


def _pika_reads(encoded):
    """What pika's own frame decoding and content assembly give for one delivery."""
    frames, at = [], 0
    while at < len(encoded):
        consumed, value = frame.decode_frame(encoded[at:])
        frames.append(value)
        at += consumed
    method, header, bodies = frames[0].method, frames[1], frames[2:]
    properties = header.properties
    return (method.delivery_tag, method.redelivered, method.routing_key, properties.correlation_id,
            properties.reply_to, properties.message_id, properties.headers, properties.timestamp,
            b"".join(b.fragment for b in bodies))


EVERY_PROPERTY = pika.BasicProperties(
    content_type="application/json", content_encoding="utf-8",
    headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "n": 3,
             "nested": {"a": [1, "b"]}, "when": datetime(2026, 3, 1, 10, 0), "flag": True, "bytes": b"\x00\x01"},
    delivery_mode=2, priority=5, correlation_id="c-1", reply_to="amq.rabbitmq.reply-to", expiration="60000",
    message_id="e-1", timestamp=1_767_225_600, type="usage", user_id="guest", app_id="bench", cluster_id="x")
# What `chassis.rpc_client` sends (and the RPC server reads: reply-to, correlation id, headers).
RPC_REQUEST = pika.BasicProperties(
    content_type="application/json", content_encoding="utf-8", delivery_mode=1,
    headers={"nameko.traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    reply_to="6f1d0c1e-8d3b-4c51-9a57-2b9c1f7e4d21", correlation_id="0b7e3a54-9f7c-4b6e-a2d1-6c5e8f9a0b1c")
CASES = {
    "none": pika.BasicProperties(),
    "the bench's": pika.BasicProperties(delivery_mode=2, content_type="application/json", timestamp=1_767_225_600),
    "an RPC request of the lean client": RPC_REQUEST,
    "an RPC request of nameko's client": pika.BasicProperties(
        content_type="application/json", content_encoding="utf-8", delivery_mode=2, priority=0,
        headers={"nameko.call_id_stack": ["gateway.get.3f9c"], "nameko.language": "en"},
        reply_to="rpc.reply-gateway-1c2d", correlation_id="9e8d"),
    "every one": EVERY_PROPERTY,
    "empty short strings": pika.BasicProperties(correlation_id="", reply_to="", message_id="", type="", app_id=""),
    "a message id that is not UTF-8": pika.BasicProperties(message_id=b"\xff\xfe".decode("latin-1")),
    "other clients' properties around reply-to": pika.BasicProperties(
        priority=9, expiration="1000", reply_to="r", type="t", user_id="guest", app_id="a", cluster_id="c"),
}


@pytest.mark.parametrize("properties", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("body", [b'{"id": "e1"}', b"", "é".encode() * 5000], ids=["small", "empty", "many frames"])
@pytest.mark.parametrize("redelivered", [False, True])
def test_a_delivery_reads_as_pika_reads_it(properties, body, redelivered):
    encoded = _deliver(3, properties, body, delivery_tag=2**40 + 5, redelivered=redelivered)
    found, after = next_delivery(encoded + b"\x08\x00\x00", 0, 3, TAG.encode())
    assert found == _pika_reads(encoded)
    assert after == len(encoded)


def _bytes_in_properties(encoded):
    """`encoded` with its property strings and routing key in bytes that are not UTF-8 (pika gives those as
    bytes): the same layout, so only the decoding of each string is at stake."""
    return encoded.replace(b"r", b"\xff")


@pytest.mark.parametrize("properties", [RPC_REQUEST, CASES["other clients' properties around reply-to"]],
                         ids=["an RPC request", "other clients' properties"])
def test_short_strings_that_are_not_utf8_read_as_pika_reads_them(properties):
    encoded = _bytes_in_properties(_deliver(1, properties, b"{}", routing_key="rating.reserve"))
    found, after = next_delivery(encoded, 0, 1, TAG.encode())
    assert found == _pika_reads(encoded)
    assert after == len(encoded)


FLAGS = ["content_type", "content_encoding", "headers", "delivery_mode", "priority", "correlation_id", "reply_to",
         "expiration", "message_id", "timestamp", "type", "user_id", "app_id", "cluster_id"]


def test_every_combination_of_the_fourteen_properties_reads_as_pika_reads_it():
    values = {name: getattr(EVERY_PROPERTY, name) for name in FLAGS}
    for count in range(len(FLAGS) + 1):
        for present in itertools.combinations(FLAGS, count):
            properties = pika.BasicProperties(**{name: values[name] for name in present})
            encoded = _deliver(1, properties, b'{"args": [], "kwargs": {}}', routing_key="rating.commit")
            found, after = next_delivery(encoded, 0, 1, TAG.encode())
            assert (found, after) == (_pika_reads(encoded), len(encoded)), present


@pytest.mark.parametrize("properties", CASES.values(), ids=CASES.keys())
def test_a_delivery_not_yet_whole_waits_for_more_bytes_at_every_cut(properties):
    encoded = _deliver(1, properties, b"x" * 9000)
    for cut in range(len(encoded)):
        assert next_delivery(encoded[:cut], 0, 1, TAG.encode()) == (INCOMPLETE, 0)
    found, after = next_delivery(encoded, 0, 1, TAG.encode())
    assert (found, after) == (_pika_reads(encoded), len(encoded))


def test_deliveries_one_after_another_read_from_where_the_last_ended():
    first, second = _deliver(1, CASES["the bench's"], b"1", delivery_tag=1), _deliver(1, EVERY_PROPERTY, b"2",
                                                                                        delivery_tag=2)
    found, after = next_delivery(first + second, 0, 1, TAG.encode())
    assert (found[0], after) == (1, len(first))
    found, after = next_delivery(first + second, after, 1, TAG.encode())
    assert (found[0], found[5], after) == (2, "e-1", len(first + second))


def _longer_payload(encoded, at):
    """`encoded` with the frame at `at` one octet longer than its fields (a zero before its frame end)."""
    size = int.from_bytes(encoded[at + 3:at + 7], "big")
    end = at + 7 + size
    return encoded[:at + 3] + (size + 1).to_bytes(4, "big") + encoded[at + 7:end] + b"\x00" + encoded[end:]


def _shortened(encoded, octets):
    """The first frame of `encoded` cut `octets` short of its fields (the frame's size says so too)."""
    size = int.from_bytes(encoded[3:7], "big") - octets
    return encoded[:3] + size.to_bytes(4, "big") + encoded[7:7 + size] + b"\xce"


FOREIGN_FRAMES = {
    "a heartbeat": frame.Heartbeat().marshal(),
    "a publisher confirm": frame.Method(1, spec.Basic.Ack(9, False)).marshal(),
    "a consumer cancelled by the broker": frame.Method(1, spec.Basic.Cancel(TAG)).marshal(),
    "a delivery on another channel": _deliver(2, CASES["none"], b"{}"),
    "a delivery for another consumer": _deliver(1, CASES["none"], b"{}", tag="ctag1.other"),
    "a delivery whose frame end is wrong": _deliver(1, CASES["none"], b"{}")[:-1] + b"\x00",
    "a delivery whose body outgrows its header": _deliver(1, CASES["none"], b"{}").replace(
        frame.Header(1, 2, CASES["none"]).marshal(), frame.Header(1, 1, CASES["none"]).marshal()),
    "a delivery with a method frame between": _deliver(1, CASES["none"], b"{}").replace(
        frame.Header(1, 2, CASES["none"]).marshal(), frame.Method(1, spec.Basic.Ack(9, False)).marshal()),
    "a delivery whose method frame is longer than its fields": _longer_payload(
        _deliver(1, CASES["none"], b"{}"), 0),
    "a delivery whose method frame is shorter than its fields": _shortened(_deliver(1, CASES["none"], b"{}"), 8)
    + bytes(100),
    "a delivery whose property list is longer than its flags say": _longer_payload(
        _deliver(1, RPC_REQUEST, b"{}"), len(frame.Method(1, spec.Basic.Deliver(TAG, 7, False, "usage", "data.v1"))
                                             .marshal())),
    "a delivery whose property list overruns its frame": _deliver(1, RPC_REQUEST, b"{}").replace(
        frame.Header(1, 2, RPC_REQUEST).marshal(), _shortened(frame.Header(1, 2, RPC_REQUEST).marshal(), 2)),
    "a delivery with a second flags word": _deliver(1, CASES["none"], b"{}").replace(
        frame.Header(1, 2, CASES["none"]).marshal(),
        frame.Header(1, 2, CASES["none"]).marshal()[:-3] + b"\x00\x01\xce"),
}


@pytest.mark.parametrize("encoded", FOREIGN_FRAMES.values(), ids=FOREIGN_FRAMES.keys())
def test_anything_else_is_left_to_pika(encoded):
    assert next_delivery(encoded, 0, 1, TAG.encode()) == (FOREIGN, 0)
