"""Reading a consumer's `basic.deliver` messages straight off pika's receive buffer (decisions 0018, 0020, 0021:
the usage stream, the batch RPC server's requests, the lean RPC client's replies).

Why: pika turns every delivery into three frame objects, looks up callbacks for each, assembles the content in
the channel, queues a delivery event in the blocking channel and dispatches it later; for the usage stream that
was about a third of the process's CPU per event (py-spy, `bench/rating_bench.py`). A delivery is three or more
frames of a fixed layout (AMQP 0-9-1, sections 4.2.3-4.2.6 and the `basic` class), so the consumer decodes
what its users need of them itself: delivery tag, redelivered flag and routing key of the method; correlation
id, reply-to, message id, headers and timestamp of the properties (the stream consumer and the batch RPC
server read different ones of these; one decoding serves both); the body. The other properties are skipped
by their encoded sizes, and a property list that does not end where its frame ends is left to pika.

Everything else (heartbeats, publisher confirms, channel and connection methods, a delivery for another
consumer or anything not laid out as expected) is handed to pika one frame at a time, in order, exactly as its
own loop would have; pika then raises its own errors for a broken stream. pika has no public call for this:
`DeliveryReader` replaces its connection's `_on_data_available` and keeps the counters pika's heartbeat checker
reads (`bytes_received`, `frames_received`), which is why pika stays pinned (constraints.txt); the unit tests
compare the decoding with pika's byte for byte.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pika import data, frame

_FRAME = struct.Struct(">BHI")  # type, channel, payload size; the payload and the frame-end octet follow
_FRAME_END = 0xCE
_METHOD, _HEADER, _BODY = 1, 2, 3
_DELIVER = b"\x00\x3c\x00\x3c"  # class basic (60), method deliver (60)
_U64 = struct.Struct(">Q")
_CONTENT_HEADER = struct.Struct(">HHQH")  # class, weight, body size, first property-flags word
# Basic's property flags, highest bit first, in the order the properties are encoded.
_CONTENT_TYPE, _CONTENT_ENCODING, _HEADERS, _DELIVERY_MODE, _PRIORITY = 1 << 15, 1 << 14, 1 << 13, 1 << 12, 1 << 11
_CORRELATION_ID, _REPLY_TO, _EXPIRATION, _MESSAGE_ID, _TIMESTAMP = 1 << 10, 1 << 9, 1 << 8, 1 << 7, 1 << 6
_MORE_FLAGS = 1  # a second flags word follows: not a Basic property list of 0-9-1, left to pika


_TYPE, _USER_ID, _APP_ID, _CLUSTER_ID = 1 << 5, 1 << 4, 1 << 3, 1 << 2
_SKIPPED_AFTER_TIMESTAMP = _TYPE | _USER_ID | _APP_ID | _CLUSTER_ID  # short strings, none of them read


# A delivery: (delivery tag, redelivered, routing key, correlation id, reply-to, message id, headers, timestamp,
# body), a plain tuple because one is built per message. Short strings are decoded as pika decodes them (str,
# bytes when not UTF-8); an absent property is None.
Delivery = tuple[int, bool, Any, Any, Any, Any, "dict[str, Any] | None", "int | None", bytes]
DeliveryCallback = Callable[[int, bool, Any, Any, Any, Any, "dict[str, Any] | None", "int | None", bytes], None]


INCOMPLETE = "incomplete"  # the delivery's frames have not all arrived: read on when more data comes
FOREIGN = "foreign"  # not a delivery this reader decodes: the frame at `pos` goes to pika


def next_delivery(buffer: bytes, pos: int, channel: int, consumer_tag: bytes) -> tuple[Delivery | str, int]:
    """(the delivery whose method frame starts at `pos` and the position after its last frame) when `buffer`
    holds it whole; (INCOMPLETE, pos) when it does not yet (or not even the frame at `pos`); (FOREIGN, pos) when
    the frame at `pos` is anything but a well-formed `basic.deliver` with its content on `channel` for
    `consumer_tag`."""
    method = _frame_at(buffer, pos)
    if method is None:
        return INCOMPLETE, pos
    kind, on, _, end = method
    if kind != _METHOD or on != channel or not buffer.startswith(_DELIVER, pos + 7) or buffer[end] != _FRAME_END:
        return FOREIGN, pos
    at = pos + 11
    if buffer[at] != len(consumer_tag) or not buffer.startswith(consumer_tag, at + 1):
        return FOREIGN, pos
    tag_end = at + 1 + len(consumer_tag)
    try:
        (delivery_tag,) = _U64.unpack_from(buffer, tag_end)
        redelivered = bool(buffer[tag_end + 8] & 1)
        at = tag_end + 10 + buffer[tag_end + 9]  # past the exchange: not needed
        routing_key, at = _short_string(buffer, at)
    except (IndexError, struct.error):
        return FOREIGN, pos  # a method frame too short for its fields: pika raises its own error
    if at != end:
        return FOREIGN, pos  # the method's fields do not fill its frame: pika's to judge
    header = _frame_at(buffer, end + 1)
    if header is None:
        return INCOMPLETE, pos
    kind, on, _, header_end = header
    if kind != _HEADER or on != channel or buffer[header_end] != _FRAME_END:
        return FOREIGN, pos
    try:
        _, _, body_size, flags = _CONTENT_HEADER.unpack_from(buffer, end + 8)
        if flags & _MORE_FLAGS:
            return FOREIGN, pos
        properties = _properties(buffer, end + 22, flags)
    except (IndexError, struct.error):
        return FOREIGN, pos  # lengths pointing past what was received: pika raises its own error
    if properties[5] != header_end:
        return FOREIGN, pos
    parts = []
    at, remaining = header_end + 1, body_size
    while remaining > 0:
        fragment = _frame_at(buffer, at)
        if fragment is None:
            return INCOMPLETE, pos
        kind, on, length, body_end = fragment
        if kind != _BODY or on != channel or buffer[body_end] != _FRAME_END or length > remaining:
            return FOREIGN, pos
        parts.append(buffer[at + 7:body_end])
        remaining -= length
        at = body_end + 1
    body = parts[0] if len(parts) == 1 else b"".join(parts)
    correlation_id, reply_to, message_id, headers, timestamp, _ = properties
    return (delivery_tag, redelivered, routing_key, correlation_id, reply_to, message_id, headers, timestamp,
            body), at


def _frame_at(buffer: bytes, at: int) -> tuple[int, int, int, int] | None:
    """(type, channel, payload size, position of the frame-end octet) of the frame at `at`; None while the
    buffer does not hold it whole."""
    if len(buffer) - at < 7:
        return None
    kind, channel, length = _FRAME.unpack_from(buffer, at)
    end = at + 7 + length
    return None if end >= len(buffer) else (kind, channel, length, end)


def _properties(buffer: bytes, at: int, flags: int) -> tuple[Any, Any, Any, Any, Any, int]:
    """(correlation id, reply-to, message id, headers, timestamp, position after the list) of a content header's
    property list starting at `at`; the other properties are skipped by their encoded sizes, in their order."""
    correlation_id = reply_to = message_id = headers = timestamp = None
    if flags & _CONTENT_TYPE:
        at += 1 + buffer[at]
    if flags & _CONTENT_ENCODING:
        at += 1 + buffer[at]
    if flags & _HEADERS:
        headers, at = data.decode_table(buffer, at)
    if flags & _DELIVERY_MODE:
        at += 1
    if flags & _PRIORITY:
        at += 1
    if flags & _CORRELATION_ID:
        correlation_id, at = _short_string(buffer, at)
    if flags & _REPLY_TO:
        reply_to, at = _short_string(buffer, at)
    if flags & _EXPIRATION:
        at += 1 + buffer[at]
    if flags & _MESSAGE_ID:
        message_id, at = _short_string(buffer, at)
    if flags & _TIMESTAMP:
        (timestamp,) = _U64.unpack_from(buffer, at)
        at += 8
    if flags & _SKIPPED_AFTER_TIMESTAMP:
        for short_string in (_TYPE, _USER_ID, _APP_ID, _CLUSTER_ID):
            if flags & short_string:
                at += 1 + buffer[at]
    return correlation_id, reply_to, message_id, headers, timestamp, at


def _short_string(buffer: bytes, at: int) -> tuple[Any, int]:
    """The short string at `at` as pika decodes it (`pika.data.decode_short_string`: str, or the bytes when they
    are not UTF-8) and the position after it; inlined because a delivery has up to four of them."""
    end = at + 1 + buffer[at]
    raw = buffer[at + 1:end]
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        return raw, end


class DeliveryReader:
    """Installed on a `pika.BlockingConnection` (or an asynchronous `pika.SelectConnection`, on its I/O thread)
    before `basic_consume`: the consumer's deliveries go to `deliver(*delivery)` (`Delivery`'s fields) as they
    are read, in order; every other frame goes through pika. `uninstall()` gives the connection its own reading
    back (before closing it, so deliveries after a cancel are pika's to refuse)."""

    def __init__(self, connection: Any, channel_number: int, consumer_tag: str,
                 deliver: DeliveryCallback):
        self._connection = connection
        # A blocking connection reads through its asynchronous one; a `SelectConnection` is its own.
        self._impl = getattr(connection, "_impl", connection)
        self._blocking = self._impl is not connection
        self._channel = channel_number
        self._tag = consumer_tag.encode()
        self._deliver = deliver
        self._impl._on_data_available = self._on_data

    def uninstall(self) -> None:
        self._impl.__dict__.pop("_on_data_available", None)

    def _on_data(self, data_in: bytes) -> None:
        impl = self._impl
        buffer = impl._frame_buffer + data_in if impl._frame_buffer else data_in
        pos = read = frames = 0
        delivered = False
        channel, tag, deliver = self._channel, self._tag, self._deliver
        try:
            while pos < len(buffer):
                found, after = next_delivery(buffer, pos, channel, tag)
                if type(found) is tuple:
                    # Three frames at least; pika's counter only has to grow (it is reported, not checked).
                    frames += 3
                    read += after - pos
                    pos = after
                    deliver(*found)
                    delivered = True
                    continue
                if found == INCOMPLETE:
                    break
                # One frame exactly as pika's own loop handles it: the rest of the buffer stays pika's while the
                # frame is processed (a connection close resets it).
                consumed, value = frame.decode_frame(buffer[pos:] if pos else buffer)
                if not value:
                    break
                impl.bytes_received += read + consumed
                impl.frames_received += frames
                read = frames = 0
                impl._frame_buffer = buffer[pos + consumed:]
                impl._process_frame(value)
                buffer, pos = impl._frame_buffer, 0
        finally:
            impl.bytes_received += read
            impl.frames_received += frames
            impl._frame_buffer = buffer[pos:] if pos else buffer
            if delivered and self._blocking:
                # A negative channel number asks `process_data_events` to return (pika's own convention), so
                # the consumer sees its new messages without waiting for its time limit.
                self._connection._request_channel_dispatch(-channel)
