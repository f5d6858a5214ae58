"""Composition root of the customer processes: the one place that picks the adapters the use cases
run on (MongoDB here; the unit tests hand the same use cases in-memory fakes instead)."""
from __future__ import annotations

from customer.adapters.repository import MongoTransactions
from customer.service_layer.unit_of_work import Transactions


def transactions() -> Transactions:
    return MongoTransactions()
