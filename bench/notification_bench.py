"""Notification throughput: threshold events → delivered emails and signed webhooks.

Starts its own mongod (temp dir) and RabbitMQ vhost, the customer and notification workers as
real processes, an aiosmtpd SMTP sink and a webhook receiver that verifies every signature; loads
customers through the customer service's documents, publishes the threshold events on
`rating.events` as rating does, and waits until every notification is delivered. Prints
deliveries per second and the event → delivery latency (publish to the delivery's recorded time).

    .venv/bin/python bench/notification_bench.py [--events 1000] [--customers 100]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
from aiosmtpd.controller import Controller

from chassis import localinfra
from chassis.envelope import exchange_for, new_event
from chassis.testing import settings_for, start_platform
from notification.standins.smtp_sink import MailDirHandler
from notification.standins.webhook_receiver import WebhookReceiver

from support import infrastructure, percentiles

SECRET = "bench-signing-secret-" + uuid.uuid4().hex


def load_customers(mongo_uri: str, amqp: str, prefix: str, count: int) -> None:
    from chassis.mongo import connect, ensure_indexes
    from customer.adapters.documents import ALL_DOCUMENTS
    from customer.service_layer.customers import new_customer_document

    db = connect(settings_for("customer", mongo_uri, amqp, prefix))
    now = datetime.now(UTC)
    db.customers.insert_many([new_customer_document(i, {
        "first_name": "Ana", "last_name": f"Novak{i}", "email": f"ana.{i}@example.com", "phone": f"+38640{i:06d}",
        "organization": None, "address": "Slovenska 1", "city": "Ljubljana", "state": "-", "country": "SI",
        "zip": "1000", "tag": "primary", "customer_type": "regular", "custom_attributes": {}, "payment_info": None,
    }, {}, now).to_mongo() for i in range(1, count + 1)])
    ensure_indexes(ALL_DOCUMENTS, db)


def threshold(customer_id: int, n: int) -> dict[str, Any]:
    return {"customerId": customer_id, "balanceGroupId": f"bg-{customer_id}", "billingProfileId": f"bp-{customer_id}",
            "resource": "MB", "creditProfile": "STANDARD", "threshold": {"kind": "percent", "value": "80"},
            "value": "4000", "balance": "-1000", "channels": ["email", "webhook"], "cycleId": f"c-{n}",
            "crossedAt": datetime.now(UTC).isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    with infrastructure() as (mongo_uri, amqp, log_dir), tempfile.TemporaryDirectory(prefix="mail-") as mail_dir:
        prefix = f"bench{uuid.uuid4().hex[:6]}_"
        smtp = Controller(MailDirHandler(Path(mail_dir)), hostname="127.0.0.1", port=localinfra.free_port())
        smtp.start()
        receiver = WebhookReceiver(SECRET)
        platform = None
        try:
            load_customers(mongo_uri, amqp, prefix, args.customers)
            platform = start_platform(["customer", "notification"], mongo_uri, amqp, log_dir, {
                "MONGODB_DB_PREFIX": prefix, "LOG_LEVEL": "WARNING", "NOTIFICATION_SMTP_HOST": "127.0.0.1",
                "NOTIFICATION_SMTP_PORT": str(smtp.port), "NOTIFICATION_SMTP_STARTTLS": "false",
                "NOTIFICATION_WEBHOOK_SECRET": SECRET})
            platform.run_job("notification", "migrate")  # the queues exist before anything is published
            db = platform.database("notification")
            db.webhook_endpoints.insert_one({"_id": "bench", "url": receiver.url,
                                             "event_types": ["balance.threshold_crossed"], "enabled": True,
                                             "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)})
            connection = pika.BlockingConnection(pika.URLParameters(amqp))
            channel = connection.channel()
            published: dict[str, float] = {}
            started = time.time()
            for n in range(args.events):
                event = new_event("balance.threshold_crossed", "rating", threshold(n % args.customers + 1, n))
                published[event.id] = time.time()
                channel.basic_publish(exchange_for(event.type), event.type, event.to_json(), pika.BasicProperties(
                    content_type="application/cloudevents+json", delivery_mode=2))
            connection.close()
            print(f"published {args.events:,} threshold events in {time.time() - started:.1f} s", flush=True)

            expected = 2 * args.events
            deadline = time.monotonic() + args.timeout
            while (done := db.notifications.count_documents({"status": "delivered"})) < expected:
                if time.monotonic() > deadline:
                    print(f"only {done} of {expected} delivered after {args.timeout:.0f} s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
            rows = list(db.notifications.find({}, {"source_event_id": 1, "channel": 1, "delivered_at": 1,
                                                   "attempts": 1}))
            finished = max(r["delivered_at"].timestamp() for r in rows)
            elapsed = finished - started
            latencies = {"email": [], "webhook": []}
            for r in rows:
                latencies[r["channel"]].append((r["delivered_at"].timestamp() - published[r["source_event_id"]]) * 1000)
            emails = len(list(Path(mail_dir).glob("*.eml")))
            verified = sum(1 for h in receiver.received if h.signature_ok)
            retried = sum(1 for r in rows if len(r["attempts"]) > 1)
            print(f"delivered {len(rows):,} notifications ({emails:,} emails at the SMTP sink, {verified:,} webhooks "
                  f"with a verified signature, {retried} needed a retry) in {elapsed:.1f} s")
            print(f"throughput: {len(rows) / elapsed:.1f} deliveries/s ({args.events / elapsed:.1f} events/s)")
            for name, samples in latencies.items():
                print(f"event → {name} delivered: {percentiles(samples)}")
            print(f"event → delivered (all): {percentiles(latencies['email'] + latencies['webhook'])}")
            print("note: measured on a shared 2-core machine loaded by other work; figures are indicative")
        finally:
            if platform is not None:
                platform.stop()
            receiver.close()
            smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
