"""The batch RPC server's own cost (`chassis.rpc_batch.BatchRpcServer`, what `python -m rating charging` runs).

Starts a RabbitMQ vhost (no database), a server process whose handler echoes each request's payload after
waiting `--wait-ms` per batch (a stand-in for the database transaction), and calls it through the lean client
(`chassis.rpc_client.AmqpRpcClient.call_async` from one driver thread, latency from each call's due time)
at steady offered rates; with `--pairs`, each unit is two calls one after the other, as reserve + commit.
Prints, per rate: latency percentiles, CPU per call (or pair) of the server process, of RabbitMQ and of this
benchmark (the client), and the raw RabbitMQ publish and consume rates measured in the same run with the rate
served as a share of each.

    .venv/bin/python bench/rpc_batch_bench.py [--rate 1000 --rate 400] [--seconds 4] [--wait-ms 2] [--pairs]
        [--parallel 1] [--batch-size 200] [--prefetch 400]

Context (issue 9): reserve + commit (two calls) p99 <= 20 ms at 500 pairs/s = 1000 calls/s, on two cores that
also run MongoDB, RabbitMQ and the caller: every CPU millisecond the server spends per request counts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from typing import Any

from chassis.errors import Unavailable
from chassis.rpc_client import AmqpRpcClient

from support import cpu_seconds, infrastructure, paced, percentiles, rabbitmq_pids, raw_rabbitmq, then

SERVICE = "bench_echo"
# About the size of a reserve request's payload.
PAYLOAD = {"serviceType": "data", "serviceIdentifier": "bench-000123", "quantity": "10", "fields": {"zone": "home"}}


def serve(args: argparse.Namespace) -> None:
    """The server process: a BatchRpcServer with an echo handler, until SIGTERM."""
    from chassis.rpc_batch import BatchRpcServer, RpcTopology

    wait = args.wait_ms / 1000

    def handler(batch: Any) -> list[Any]:
        if wait:
            time.sleep(wait)  # the database transaction of a real batch
        return [request.args[0] if request.args else None for request in batch]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    BatchRpcServer(args.amqp, RpcTopology(SERVICE), handler, batch_size=args.batch_size, prefetch=args.prefetch,
                   max_wait=0, parallel=args.parallel).run(stop)


def calls(client: AmqpRpcClient, count: int, rate: float, pairs: bool) -> tuple[list[float], float]:
    """`count` calls (or, with `pairs`, two calls one after the other, as reserve + commit) started at a steady
    `rate` per second from one thread (`support.paced`); (latency of each in ms, seconds taken)."""

    def one(_: int) -> Future[Any]:
        first = client.call_async(SERVICE, "echo", PAYLOAD)
        return then(first, lambda answer: client.call_async(SERVICE, "echo", answer)) if pairs else first

    return paced(one, count, rate)


def wait_until_served(client: AmqpRpcClient, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.call(SERVICE, "echo", PAYLOAD)
            return
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, action="append", help="calls per second offered (default 1000, 400)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each rate's run")
    parser.add_argument("--wait-ms", type=float, default=2.0, help="the handler's wait per batch")
    parser.add_argument("--parallel", type=int, default=1, help="batches in flight (1, as charging runs: inline)")
    parser.add_argument("--pairs", action="store_true",
                        help="units of two calls one after the other (as reserve + commit); rates in pairs/s")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--prefetch", type=int, default=400)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--amqp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    rates = args.rate or [1000.0, 400.0]
    with infrastructure(mongo_needed=False) as (_, amqp_uri, _base):
        raw_publish, raw_consume = raw_rabbitmq(amqp_uri, [json.dumps({"args": [PAYLOAD], "kwargs": {}}).encode()]
                                                * 20_000)
        server = subprocess.Popen([sys.executable, __file__, "--serve", "--amqp", amqp_uri, "--wait-ms",
                                   str(args.wait_ms), "--parallel", str(args.parallel), "--batch-size",
                                   str(args.batch_size), "--prefetch", str(args.prefetch)])
        client = AmqpRpcClient(amqp_uri, timeout=30)
        try:
            wait_until_served(client)
            calls(client, 200, 400, args.pairs)  # warm up
            processes = {"server": [server.pid], "rabbitmq": rabbitmq_pids(), "client": [os.getpid()]}
            print(f"raw RabbitMQ: publish {raw_publish:.0f} msg/s (persistent), consume {raw_consume:.0f} msg/s; "
                  f"handler waits {args.wait_ms:g} ms per batch, parallel {args.parallel}", flush=True)
            for rate in rates:
                count = int(rate * args.seconds)
                before = {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}
                latencies, seconds = calls(client, count, rate, args.pairs)
                served = count / seconds
                used = {name: sum(map(cpu_seconds, pids)) - before[name] for name, pids in processes.items()}
                unit = "pairs" if args.pairs else "calls"
                print(f"{rate:.0f} {unit}/s offered, {served:.0f}/s served "
                      f"({served / raw_publish:.3f} of raw publish, {served / raw_consume:.3f} of raw consume): "
                      f"{percentiles(latencies)}")
                print(f"  CPU per {unit[:-1]} (ms): " + ", ".join(f"{name} {seconds * 1000 / count:.3f}"
                                                          for name, seconds in used.items()), flush=True)
        finally:
            client.close()
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
