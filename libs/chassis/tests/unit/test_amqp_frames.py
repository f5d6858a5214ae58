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


def _request_properties(headers, correlation_id, reply_to):
    return pika.BasicProperties(content_type="application/json", content_encoding="utf-8", headers=headers,
                                delivery_mode=pika.DeliveryMode.Transient, correlation_id=correlation_id,
                                reply_to=reply_to)


@pytest.mark.parametrize("body", [b'{"args": [{"quantity": "10"}], "kwargs": {}}', b"", "é".encode() * 5000])
@pytest.mark.parametrize("headers", [{"nameko.traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                                     {}, None])
def test_a_request_of_the_rpc_client_is_the_mandatory_publish_pika_would_send(body, headers):
    ours = (amqp_frames.publish(1, "nameko-rpc", "rating_charging.reserve", mandatory=True)
            + amqp_frames.json_content(1, body, headers, "41", "6f1d0c1e-8d3b-4c51-9a57-2b9c1f7e4d21"))
    method = frame.Method(1, spec.Basic.Publish(exchange="nameko-rpc", routing_key="rating_charging.reserve",
                                                mandatory=True)).marshal()
    rest = _pika_publish(1, "", "", _request_properties(headers, "41", "6f1d0c1e-8d3b-4c51-9a57-2b9c1f7e4d21"),
                         body, amqp_frames.BODY_CHUNK)
    pika_method_length = len(frame.Method(1, spec.Basic.Publish(exchange="", routing_key="")).marshal())
    assert ours == method + rest[pika_method_length:]
