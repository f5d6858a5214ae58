"""RPC argument checks: what checking every incoming call against contracts/rpc/ costs.

Measures, in process (no broker: the check runs inside the worker before the method), the argument check
of typical calls with the compiled validators the nameko adapter uses (jsonschema-rs), next to the same
check with the reference `jsonschema` validator and to a whole RPC round trip for scale:
- customer.get_customer(customerId)              a scalar
- customer.create_customer(payload, requestId)   a named shape, checked as an object (its loader checks fields)
- rating.create_subscription(payload)            likewise
- catalog.rate(serviceType, fields, ...)         six parameters, four defaulted
- rating_charging.reserve(payload)               the charging hot path (chassis.rpc_batch): ReservationCreate,
- rating_charging.commit_reservation(id, payload)  ReservationCommit, checked as objects (the usage parser
- rating.rate_usage(events)                        checks their members), and 100 usage events as an array

    .venv/bin/python bench/rpc_contract_bench.py [--calls 20000]

Target (issue 8): the check costs no noticeable CPU: a few µs a call, a small fraction of the marshmallow
load the method does anyway and well under 1% of an RPC round trip (about 1-2 ms here). Binding the
arguments to the signature is most of it: for the shallow argument checks the compiled validators are no
faster than `jsonschema`; they pay off on the full result checks of the tests.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time

import jsonschema

from chassis import rpc_contracts

CALLS = [
    ("customer", "get_customer", (42,), {}),
    ("customer", "create_customer", ({"firstName": "Ada", "lastName": "Lovelace"}, "req-1"), {}),
    ("rating", "create_subscription", ({"customerId": 1, "products": []},), {}),
    ("catalog", "rate", ("voice", {"destination": "DE"}), {"quantity": "60"}),
    ("rating_charging", "reserve", ({"serviceType": "voice", "serviceIdentifier": "4912345", "quantity": "60"},), {}),
    ("rating_charging", "commit_reservation", ("r-1", {"used": "42"}), {}),
    ("rating", "rate_usage", ([{"id": f"e-{i}", "serviceType": "voice", "serviceIdentifier": "4912345",
                                "startTime": "2026-03-01T10:00:00Z", "quantity": "60"} for i in range(100)],), {}),
]


def _function(service: str, name: str):
    if service == "rating_charging":  # not a nameko worker: the charging process's table of functions
        from rating.entrypoints.charging import METHODS

        return METHODS[name]
    module, cls = {"customer": ("customer.entrypoints.worker", "CustomerService"),
                   "rating": ("rating.entrypoints.worker", "RatingService"),
                   "catalog": ("catalog.entrypoints.worker", "CatalogService")}[service]
    return inspect.unwrap(getattr(getattr(__import__(module, fromlist=[cls]), cls), name))


def _per_call_us(check, calls: int) -> float:
    for _ in range(200):
        check()
    started = time.perf_counter()
    for _ in range(calls):
        check()
    return (time.perf_counter() - started) / calls * 1e6


def _measure(service: str, name: str, args: tuple, kwargs: dict, calls: int) -> tuple[float, float]:
    """(µs a call with the adapter's compiled check, µs with the reference `jsonschema` on the same schemas)."""
    method, fn = rpc_contracts.method(service, name), _function(service, name)
    fast = _per_call_us(lambda: method.check_arguments(fn, args, kwargs), calls)
    reference = [(jsonschema.Draft202012Validator(rpc_contracts._shallow(schema) or {}), param)
                 for param, schema in method.params.items()]
    receiver = (None,) if rpc_contracts._is_method(fn) else ()
    values = inspect.signature(fn).bind(*receiver, *args, **kwargs).arguments
    python_names = dict(zip(method.params, rpc_contracts.python_parameters(fn), strict=True))

    def slow() -> None:
        for validator, param in reference:
            if python_names[param] in values:
                list(validator.iter_errors(values[python_names[param]]))

    return fast, _per_call_us(slow, calls // 10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    options = parser.parse_args()
    print(f"{'call':44} {'jsonschema-rs µs':>17} {'jsonschema µs':>14}")
    worst = 0.0
    for service, name, args, kwargs in CALLS:
        fast, slow = _measure(service, name, args, kwargs, options.calls)
        print(f"{f'{service}.{name}':44} {fast:17.1f} {slow:14.1f}")
        worst = max(worst, fast)
    from customer.schemas import CustomerCreateSchema

    payload = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
               "address": "12 St James's Square", "city": "London", "state": "LND", "country": "GB",
               "customerType": "regular"}
    load = _per_call_us(lambda: CustomerCreateSchema().load(payload), options.calls // 10)
    print(f"for scale: create_customer's own marshmallow load of a valid payload: {load:.1f} µs")
    print(f"worst argument check: {worst:.1f} µs per call ({worst / 1000:.2%} of a 1 ms RPC round trip)")
    return 0 if worst < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
