"""AMQP 0-9-1 frames encoded here rather than by pika: the batch RPC server's replies and acknowledgement, written
to the connection as one buffer (`chassis.rpc_batch`), and the lean RPC client's requests (`chassis.rpc_client`,
decision 0021).

Why not pika's `BlockingChannel.basic_publish`: it flushes the socket and polls the I/O loop after every
message, and pika's transport sends every frame (method, content header, body) with a `send` of its own. With
TCP_NODELAY (pika's default) a reply cost three system calls and three TCP segments for RabbitMQ to read, plus
pika's general-purpose marshalling; a batch of replies and its ack now cost one `send`. The encoding is the
protocol's (AMQP 0-9-1, section 4.2); the unit tests check it byte for byte against pika's own marshalling.
"""
from __future__ import annotations

import struct
from typing import Any

from pika import data

_METHOD, _HEADER, _BODY = 1, 2, 3
_END = b"\xce"
_BASIC = 60
_PUBLISH = struct.pack(">HHH", _BASIC, 40, 0)  # basic.publish and its reserved ticket
# Body frames no larger than the smallest frame size a broker may negotiate (frame-min-size, 4096 octets, less
# the frame's 8 octets of header and end): valid on any connection without asking pika what was negotiated.
BODY_CHUNK = 4096 - 8
# Content header property flags, in the order the properties are encoded.
_CONTENT_TYPE, _CONTENT_ENCODING, _HEADERS, _DELIVERY_MODE = 1 << 15, 1 << 14, 1 << 13, 1 << 12
_CORRELATION_ID, _REPLY_TO = 1 << 10, 1 << 9
_JSON_UTF8 = b"\x10application/json\x05utf-8"  # content type, content encoding
_TRANSIENT = b"\x01"  # delivery mode 1
_CONTENT_HEADER = struct.Struct(">HHQH")  # class, weight, body size, property flags


def _frame(kind: int, channel: int, payload: bytes) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + _END


def short_string(value: str | bytes) -> bytes:
    # Octets as received (a caller's correlation id or reply queue that is not UTF-8) are echoed as they came.
    encoded = value if isinstance(value, bytes) else value.encode()
    if len(encoded) > 255:
        raise ValueError(f"an AMQP short string holds 255 octets at most, not {len(encoded)}")
    return bytes((len(encoded),)) + encoded


def publish(channel: int, exchange: str, routing_key: str | bytes, mandatory: bool = False) -> bytes:
    """The method frame of a `basic.publish` (a request's is the same for every call of one method: the
    client keeps it)."""
    flags = b"\x01" if mandatory else b"\x00"
    return _frame(_METHOD, channel, _PUBLISH + short_string(exchange) + short_string(routing_key) + flags)


def json_content(channel: int, body: bytes, headers: dict[str, Any] | None = None,
                 correlation_id: str | bytes | None = None, reply_to: str | bytes | None = None) -> bytes:
    """The content header and body frames of a transient `application/json` message in utf-8, with the
    headers, correlation id and reply-to given (None: the property is absent, as pika leaves it)."""
    flags = _CONTENT_TYPE | _CONTENT_ENCODING | _DELIVERY_MODE
    properties = [_JSON_UTF8]
    if headers is not None:
        flags |= _HEADERS
        data.encode_table(properties, headers)
    properties.append(_TRANSIENT)
    if correlation_id is not None:
        flags |= _CORRELATION_ID
        properties.append(short_string(correlation_id))
    if reply_to is not None:
        flags |= _REPLY_TO
        properties.append(short_string(reply_to))
    parts = [_frame(_HEADER, channel, _CONTENT_HEADER.pack(_BASIC, 0, len(body), flags) + b"".join(properties))]
    for start in range(0, len(body), BODY_CHUNK):
        parts.append(_frame(_BODY, channel, body[start:start + BODY_CHUNK]))
    return b"".join(parts)


def json_reply(channel: int, exchange: str, routing_key: str | bytes, correlation_id: str | bytes | None,
               body: bytes) -> bytes:
    """`basic.publish` of a transient `application/json` message in utf-8 with its correlation id (nameko's
    reply): the method, content header and body frames."""
    return publish(channel, exchange, routing_key) + json_content(channel, body, correlation_id=correlation_id)


def ack(channel: int, delivery_tag: int, multiple: bool) -> bytes:
    """`basic.ack` of `delivery_tag` (and every earlier one when `multiple`)."""
    return _frame(_METHOD, channel, struct.pack(">HHQB", _BASIC, 80, delivery_tag, 1 if multiple else 0))
