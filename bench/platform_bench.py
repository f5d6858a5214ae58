"""Foundation figures: customer creation through the gateway, event delivery to
billing, and the outbox relay's throughput. Real processes, real mongod and RabbitMQ.

    .venv/bin/python bench/platform_bench.py [--customers 300] [--events 5000]
"""
from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import pymongo

from chassis.envelope import new_event
from chassis.testing import operator_client, start_platform

from support import infrastructure, peak_rss_mb, percentiles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    with infrastructure() as (mongo_uri, amqp_uri, logs):
        platform = start_platform(["catalog", "customer", "billing", "gateway:api"], mongo_uri, amqp_uri, logs,
                                  {"LOG_LEVEL": "WARNING"})
        try:
            platform.run_job("catalog", "load-demo")  # customer types live in the catalog
            bench_customers(platform, args.customers)
            bench_outbox(platform, args.events)
            for name, process in platform.processes.items():
                print(f"peak RSS {name:12s} {peak_rss_mb(process.process.pid):7.1f} MB")
        finally:
            platform.stop()


def account(i: int) -> dict[str, str]:
    return {"firstName": "Bench", "lastName": f"N{i}", "email": f"b{i}@example.com", "phone": "+386 1 234 5678",
            "address": f"Trg {i}", "city": "Ljubljana", "state": "LJ", "country": "SI", "customerType": "regular"}


def bench_customers(platform, count: int) -> None:
    billing = platform.database("billing").customers
    create_ms, delivery_ms = [], []
    with operator_client(platform) as api:
        for i in range(10):  # warm-up: connections, pools, code paths
            api.post("/api/v1/customers", json=account(-i - 1))
        for i in range(count):
            started = time.perf_counter()
            response = api.post("/api/v1/customers", json=account(i))
            created = time.perf_counter()
            assert response.status_code == 201, response.text
            customer_id = response.json()["id"]
            while billing.find_one({"_id": customer_id}, {"_id": 1}) is None:
                time.sleep(0.001)
            create_ms.append((created - started) * 1000)
            delivery_ms.append((time.perf_counter() - created) * 1000)
    print(f"POST /api/v1/customers (gateway → customer RPC → commit):  {percentiles(create_ms)}")
    print(f"customer.created → billing record (outbox → broker → consumer): {percentiles(delivery_ms)}")


def bench_outbox(platform, count: int) -> None:
    """Events committed by a burst of writes, drained by the running customer worker's relay."""
    db = pymongo.MongoClient(platform.env["MONGODB_URI"])[f"{platform.env['MONGODB_DB_PREFIX']}customer"]
    now = time.time()
    records = []
    for i in range(count):
        event = new_event("customer.created", "customer",
                          {"id": 10_000_000 + i, "firstName": "O", "lastName": "B", "email": f"o{i}@example.com",
                           "status": "active", "createdAt": "2026-01-01T00:00:00+00:00"})
        records.append({"_id": event.id, "type": event.type, "envelope": event.to_dict(),
                        "created_at": datetime.fromtimestamp(now + i / 1e6, UTC),
                        "published_at": None, "attempts": 0})
    db.outbox.insert_many(records)
    started = time.perf_counter()
    while db.outbox.count_documents({"published_at": None}) > 0:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    print(f"outbox relay: {count} events published with confirms in {seconds:.2f} s ({count / seconds:,.0f} events/s)")
    billing = platform.database("billing").customers
    started = time.perf_counter()
    while billing.count_documents({"_id": {"$gte": 10_000_000}}) < count and time.perf_counter() - started < 120:
        time.sleep(0.1)
    consumed = billing.count_documents({"_id": {"$gte": 10_000_000}})
    print(f"billing consumer: {consumed} of {count} applied idempotently within "
          f"{time.perf_counter() - started + seconds:.2f} s of the burst")


if __name__ == "__main__":
    main()
