"""The stream consumer's own reading of deliveries gives what pika decodes from the same bytes, and leaves every
other frame to pika."""
from datetime import datetime

import pika
import pytest
from pika import frame, spec

from chassis.amqp_deliveries import FOREIGN, INCOMPLETE, next_delivery

TAG = "ctag1.0f3f1f8e2b11"


def _deliver(channel, properties, body, *, tag=TAG, delivery_tag=7, redelivered=False, chunk=4088):
    frames = [frame.Method(channel, spec.Basic.Deliver(tag, delivery_tag, redelivered, "usage", "data.v1")).marshal(),
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
    return (method.delivery_tag, method.redelivered, properties.message_id, properties.headers, properties.timestamp,
            b"".join(b.fragment for b in bodies))


EVERY_PROPERTY = pika.BasicProperties(
    content_type="application/json", content_encoding="utf-8",
    headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "n": 3,
             "nested": {"a": [1, "b"]}, "when": datetime(2026, 3, 1, 10, 0), "flag": True, "bytes": b"\x00\x01"},
    delivery_mode=2, priority=5, correlation_id="c-1", reply_to="amq.rabbitmq.reply-to", expiration="60000",
    message_id="e-1", timestamp=1_767_225_600, type="usage", user_id="guest", app_id="bench", cluster_id="x")
CASES = {
    "none": pika.BasicProperties(),
    "the bench's": pika.BasicProperties(delivery_mode=2, content_type="application/json", timestamp=1_767_225_600),
    "every one": EVERY_PROPERTY,
    "a message id that is not UTF-8": pika.BasicProperties(message_id=b"\xff\xfe".decode("latin-1")),
}


@pytest.mark.parametrize("properties", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("body", [b'{"id": "e1"}', b"", "é".encode() * 5000], ids=["small", "empty", "many frames"])
@pytest.mark.parametrize("redelivered", [False, True])
def test_a_delivery_reads_as_pika_reads_it(properties, body, redelivered):
    encoded = _deliver(3, properties, body, delivery_tag=2**40 + 5, redelivered=redelivered)
    found, after = next_delivery(encoded + b"\x08\x00\x00", 0, 3, TAG.encode())
    assert found == _pika_reads(encoded)
    assert after == len(encoded)


def test_a_delivery_not_yet_whole_waits_for_more_bytes_at_every_cut():
    encoded = _deliver(1, EVERY_PROPERTY, b"x" * 9000)
    for cut in range(len(encoded)):
        assert next_delivery(encoded[:cut], 0, 1, TAG.encode()) == (INCOMPLETE, 0)
    assert next_delivery(encoded, 0, 1, TAG.encode())[1] == len(encoded)


def test_deliveries_one_after_another_read_from_where_the_last_ended():
    first, second = _deliver(1, CASES["the bench's"], b"1", delivery_tag=1), _deliver(1, EVERY_PROPERTY, b"2",
                                                                                        delivery_tag=2)
    found, after = next_delivery(first + second, 0, 1, TAG.encode())
    assert (found[0], after) == (1, len(first))
    found, after = next_delivery(first + second, after, 1, TAG.encode())
    assert (found[0], found[2], after) == (2, "e-1", len(first + second))


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
}


@pytest.mark.parametrize("encoded", FOREIGN_FRAMES.values(), ids=FOREIGN_FRAMES.keys())
def test_anything_else_is_left_to_pika(encoded):
    assert next_delivery(encoded, 0, 1, TAG.encode()) == (FOREIGN, 0)
