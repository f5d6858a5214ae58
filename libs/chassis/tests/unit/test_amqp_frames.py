"""The frames the batch RPC server writes itself are byte for byte what pika would have sent."""
import pika
import pytest
from pika import frame, spec

from chassis import amqp_frames


def _pika_publish(channel, exchange, routing_key, properties, body, chunk):
    frames = [frame.Method(channel, spec.Basic.Publish(exchange=exchange, routing_key=routing_key)).marshal(),
              frame.Header(channel, len(body), properties).marshal()]
    frames += [frame.Body(channel, body[i:i + chunk]).marshal() for i in range(0, len(body), chunk)]
    return b"".join(frames)


def _reply_properties(correlation_id):
    return pika.BasicProperties(content_type="application/json", content_encoding="utf-8",
                                correlation_id=correlation_id, delivery_mode=pika.DeliveryMode.Transient)


@pytest.mark.parametrize("body", [b'{"result": 1, "error": null}', b"", "é".encode() * 5000])
@pytest.mark.parametrize("correlation_id", ["5f0c6a4e-7d7c-4a6b-9c55-0f3f1f8e2b11", None])
def test_a_reply_is_the_publish_pika_would_send(body, correlation_id):
    ours = amqp_frames.json_reply(7, "nameko-rpc", "reply-to-key", correlation_id, body)
    assert ours == _pika_publish(7, "nameko-rpc", "reply-to-key", _reply_properties(correlation_id), body,
                                 amqp_frames.BODY_CHUNK)


@pytest.mark.parametrize(("tag", "multiple"), [(1, False), (2**40 + 3, True)])
def test_an_ack_is_the_ack_pika_would_send(tag, multiple):
    assert amqp_frames.ack(3, tag, multiple) == frame.Method(3, spec.Basic.Ack(tag, multiple)).marshal()


def test_a_routing_key_longer_than_a_short_string_is_refused():
    with pytest.raises(ValueError, match="255"):
        amqp_frames.json_reply(1, "nameko-rpc", "k" * 256, None, b"{}")
