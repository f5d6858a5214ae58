"""Customer list benchmark: 100,000 customers, filtered search and CSV export.

Starts its own mongod (temp dir) and RabbitMQ vhost, loads the customers in bulk
through the customer service's documents, then measures:
- a filtered search page at the service (the use case the RPC runs) and through the
  gateway (HTTP -> gateway API -> RPC -> customer worker), p50/p95;
- the CSV export of all customers through the gateway: time and peak RSS (VmHWM)
  of the gateway API process and the customer worker.

    .venv/bin/python bench/customers_bench.py [--customers 100000] [--queries 200]

Targets (issue 4): search p95 <= 50 ms at the service, <= 100 ms through the
gateway; CSV of all customers <= 5 s and <= 200 MB RSS.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from chassis.testing import operator_client, settings_for, start_platform

from support import infrastructure, peak_rss_mb, percentiles

FIRST = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Klara", "Lukas",
         "Mia", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Simon", "Tara", "Uwe", "Vera", "Wolf", "Xenia", "Yusuf",
         "Zoe", "Marta", "Luca", "Sofia", "Matteo", "Giulia", "Marco", "Petra", "Janez", "Nina", "Tomaz", "Eva",
         "Ivan", "Maja", "Luka"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Novak", "Horvat",
        "Kovačič", "Krajnc", "Zupančič", "Potočnik", "Mlakar", "Kos", "Vidmar", "Golob", "Turk", "Božič",
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
        "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel", "Garcia", "Martinez", "Lopez"]
PLACES = [("DE", ["Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart", "Leipzig", "Dresden"]),
          ("IT", ["Rome", "Milan", "Naples", "Turin", "Palermo", "Genoa", "Bologna", "Florence"]),
          ("SI", ["Ljubljana", "Maribor", "Celje", "Kranj", "Koper", "Velenje", "Novo Mesto", "Ptuj"]),
          ("AT", ["Vienna", "Graz", "Linz", "Salzburg", "Innsbruck", "Klagenfurt"]),
          ("FR", ["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Lille"]),
          ("GB", ["London", "Leeds", "Bristol", "Manchester", "Glasgow", "Liverpool"])]
STREETS = ["Main Street", "Station Road", "High Street", "Church Lane", "Park Avenue", "Mill Road", "Lake View",
           "Garden Way", "Castle Hill", "River Side", "Market Square", "Forest Path"]
DOMAINS = ["gmail.com", "gmx.de", "web.de", "outlook.com", "yahoo.com", "libero.it", "siol.net", "orange.fr",
           "icloud.com", "t-online.de", "proton.me", "aon.at"]
TYPES = ["regular", "commercial", "vip"]
IBAN = "DE89370400440532013000"


def account(i: int, rng: random.Random) -> dict[str, Any]:
    """Snake_case account data, as `customers.load_account` returns it."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country, cities = rng.choice(PLACES)
    method = rng.choice(["invoice", "creditCard", "directDebit", None])
    payment = None
    if method == "invoice":
        payment = {"method": "invoice"}
    elif method == "creditCard":
        payment = {"method": "creditCard", "credit_card": {"holder_name": f"{first} {last}", "token": f"tok_{i}"}}
    elif method == "directDebit":
        payment = {"method": "directDebit", "direct_debit": {"mandate_id": f"M-{i}", "signed_on": datetime(
            2024, 1, 1, tzinfo=UTC).date(), "bic": "COBADEFFXXX", "iban": IBAN}}
    return {"first_name": first, "last_name": last, "email": f"{first}.{last}.{i}@{rng.choice(DOMAINS)}".lower(),
            "phone": f"+49 30 {i:07d}", "organization": None, "address": f"{rng.choice(STREETS)} {rng.randint(1, 200)}",
            "city": rng.choice(cities), "state": "-", "country": country, "zip": f"{rng.randint(1000, 99999)}",
            "tag": "primary", "customer_type": rng.choice(TYPES), "custom_attributes": {}, "payment_info": payment}


def load(db: Any, count: int) -> float:
    from chassis.mongo import ensure_indexes
    from customer.adapters.documents import ALL_DOCUMENTS
    from customer.service_layer.customers import new_customer_record

    rng = random.Random(4)
    started = time.perf_counter()
    now = datetime.now(UTC)
    batch: list[Any] = []
    for i in range(1, count + 1):
        son = new_customer_record(i, account(i, rng), {}, now)
        son["subscription_count"], son["service_count"] = rng.randint(0, 3), rng.randint(0, 5)
        if rng.random() < 0.03:
            son["status"] = "inactive"
        batch.append(son)
        if len(batch) == 5000:
            db.customers.insert_many(batch, ordered=False)
            batch = []
    if batch:
        db.customers.insert_many(batch, ordered=False)
    db.counters.update_one({"_id": "customer"}, {"$set": {"value": count}}, upsert=True)
    ensure_indexes(ALL_DOCUMENTS, db)
    return time.perf_counter() - started


def queries(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A mix of what an operator types into the filter form."""
    makers = [
        lambda: {"name": rng.choice(LAST)[:rng.randint(3, 5)]},
        lambda: {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}".lower()},
        lambda: {"email": rng.choice(DOMAINS) if rng.random() < 0.5
                 else f"{rng.choice(FIRST)}.{rng.choice(LAST)}".lower()},
        lambda: {"city": rng.choice(rng.choice(PLACES)[1])[:4]},
        lambda: {"country": rng.choice(PLACES)[0], "status": "active"},
        lambda: {"customerType": rng.choice(TYPES), "paymentMethod": "directDebit"},
        lambda: {"name": rng.choice(LAST)[:4], "country": rng.choice(PLACES)[0]},
        lambda: {"address": rng.choice(STREETS)[:6].lower(), "city": rng.choice(rng.choice(PLACES)[1])},
        lambda: {},
        lambda: {"name": rng.choice(FIRST)[:3], "customerType": "vip", "paymentMethod": "creditCard"},
    ]
    return [makers[i % len(makers)]() for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from chassis.mongo import connect
    from customer import views

    with infrastructure() as (mongo_uri, amqp, log_dir):
        prefix = "bench_"
        platform = None
        try:
            db = connect(settings_for("customer", mongo_uri, amqp, prefix))
            db.client.drop_database(db.name)
            print(f"loading {args.customers:,} customers ...", flush=True)
            print(f"  loaded and indexed in {load(db, args.customers):.1f} s")
            rng = random.Random(7)
            mix = queries(rng, args.queries)

            service_ms, totals = [], []
            for filters in mix:
                started = time.perf_counter()
                page = views.search_customers(filters, rng.choice([0, 0, 20, 40]), 20)
                service_ms.append((time.perf_counter() - started) * 1000)
                totals.append(page["total"])
            print(f"search at the service:      {percentiles(service_ms)}")
            kinds: dict[str, list[float]] = {}
            for filters, took in zip(mix, service_ms, strict=True):
                kinds.setdefault("+".join(sorted(filters)) or "(no filter)", []).append(took)
            for kind, times in sorted(kinds.items()):
                print(f"  {kind:32s} p50 {statistics.median(times):6.1f} ms   max {max(times):6.1f} ms")
            print(f"  matches per query: median {int(statistics.median(totals)):,}, max {max(totals):,}")

            platform = start_platform(["customer", "gateway:api"], mongo_uri, amqp, log_dir,
                                      {"MONGODB_DB_PREFIX": prefix, "LOG_LEVEL": "WARNING"})
            client = operator_client(platform)
            for filters in mix[:20]:  # warm the RPC pool and the worker
                client.get("/api/v1/customers", params=filters)
            gateway_ms = []
            for filters in mix:
                params = {**filters, "offset": rng.choice([0, 0, 20, 40]), "limit": 20}
                started = time.perf_counter()
                response = client.get("/api/v1/customers", params=params)
                gateway_ms.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
            print(f"search through the gateway: {percentiles(gateway_ms)}")

            started = time.perf_counter()
            rows = 0
            with client.stream("GET", "/api/v1/customers", headers={"Accept": "text/csv"}, timeout=120) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    rows += 1 if line else 0
            elapsed = time.perf_counter() - started
            print(f"CSV export of {rows - 1:,} customers (all of them): {elapsed:.2f} s")
            for name in ("gateway:api", "customer"):
                print(f"  peak RSS (VmHWM) {name:12s} {peak_rss_mb(platform[name].process.pid):6.1f} MB")
            client.close()
            return 0
        finally:
            if platform is not None:
                platform.stop()
            db.client.drop_database(db.name)

if __name__ == "__main__":
    sys.exit(main())
