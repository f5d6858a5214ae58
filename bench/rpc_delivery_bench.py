"""What reading one RPC request costs the batch RPC server's process, pika's consume path against the delivery
reader (`chassis.amqp_deliveries`, decisions 0018 and 0020), in process.

Opens a connection to a RabbitMQ vhost of its own, and feeds the same received bytes (`basic.deliver` frames
as the broker sends a lean client's request) to the connection's entry for received data, as if read from the
socket: once through pika (frames, channel, blocking channel's dispatch, `BatchRpcServer._on_message`) and once
through the reader (`BatchRpcServer._on_delivery`). Both build the same `RpcRequest`s; nothing is sent to the
broker. Prints the CPU per request of each, for reads of one delivery and of many.

    .venv/bin/python bench/rpc_delivery_bench.py [--requests 20000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import deque

import pika
from pika import frame, spec

from chassis.amqp_deliveries import DeliveryReader
from chassis.rpc_batch import BatchRpcServer, RpcTopology

from support import infrastructure

PAYLOAD = {"serviceType": "data", "serviceIdentifier": "bench-000123", "quantity": "10", "fields": {"zone": "home"}}
PROPERTIES = pika.BasicProperties(  # what chassis.rpc_client sends
    content_type="application/json", content_encoding="utf-8", delivery_mode=1,
    headers={"nameko.traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    reply_to="6f1d0c1e-8d3b-4c51-9a57-2b9c1f7e4d21", correlation_id="0b7e3a54-9f7c-4b6e-a2d1-6c5e8f9a0b1c")


def deliveries(channel: int, tag: str, count: int) -> list[bytes]:
    body = json.dumps({"args": [PAYLOAD], "kwargs": {}}).encode()
    return [frame.Method(channel, spec.Basic.Deliver(tag, n + 1, False, "nameko-rpc", "bench.reserve")).marshal()
            + frame.Header(channel, len(body), PROPERTIES).marshal() + frame.Body(channel, body).marshal()
            for n in range(count)]


def cpu_per_request(connection: pika.BlockingConnection, server: BatchRpcServer, reads: list[bytes],
                    requests: int) -> float:
    """µs of this process's CPU per request to read `reads` (and dispatch what pika queued)."""
    server._pending, server._unacked = [], deque()
    feed = connection._impl._on_data_available
    started = time.process_time()
    for data in reads:
        feed(data)
        connection.process_data_events(0)
    used = time.process_time() - started
    assert len(server._pending) == requests, len(server._pending)
    return used * 1e6 / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with infrastructure(mongo_needed=False) as (_, amqp_uri, _base):
        connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        server = BatchRpcServer(amqp_uri, RpcTopology("bench"), lambda batch: [None] * len(batch))
        pika_tag, reader_tag = "ctag1.pika", "ctag1.reader"
        channel.basic_consume(queue, server._on_message, consumer_tag=pika_tag)  # nothing is ever published
        results: dict[str, list[float]] = {}
        for per_read in (1, 50):
            for path, tag in (("pika", pika_tag), ("reader", reader_tag)):
                frames = deliveries(channel.channel_number, tag, args.requests)
                reads = [b"".join(frames[i:i + per_read]) for i in range(0, len(frames), per_read)]
                reader = DeliveryReader(connection, channel.channel_number, reader_tag, server._on_delivery) \
                    if path == "reader" else None
                for _ in range(args.rounds):
                    results.setdefault(f"{path}, {per_read} a read", []).append(
                        cpu_per_request(connection, server, reads, args.requests))
                if reader is not None:
                    reader.uninstall()
        connection.close()
    for name, samples in results.items():
        print(f"{name}: {min(samples):.1f} µs CPU per request (median {sorted(samples)[len(samples) // 2]:.1f})")


if __name__ == "__main__":
    main()
