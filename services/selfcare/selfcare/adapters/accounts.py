"""The portal's reads and the payment, asked of the services that own the data
(decision 0010). Every call carries the logged-in customer's id: the owners answer
NotFound for anything of another customer, which the portal shows as 404."""
from __future__ import annotations

import base64
from typing import Any, Protocol


class Rpc(Protocol):
    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any: ...


class Accounts:
    def __init__(self, rpc: Rpc):
        self.rpc = rpc

    def customer(self, customer_id: int) -> dict[str, Any]:
        return self.rpc.call("customer", "get_customer", customer_id)

    def balances(self, customer_id: int) -> Any:
        return self.rpc.call("rating", "list_balances", customer_id)

    def usage(self, customer_id: int, filters: dict[str, Any]) -> Any:
        return self.rpc.call("rating", "list_usage", customer_id, filters)

    def invoices(self, customer_id: int, status: str | None = None, offset: int = 0, limit: int = 50) -> Any:
        return self.rpc.call("billing", "list_invoices", customer_id, status, offset, limit)

    def invoice(self, customer_id: int, invoice_id: str) -> dict[str, Any]:
        return self.rpc.call("billing", "get_invoice", customer_id, invoice_id)

    def invoice_pdf(self, customer_id: int, invoice_id: str) -> bytes:
        rendered = self.rpc.call("billing", "render_invoice", customer_id, invoice_id, "pdf")
        return base64.b64decode(rendered["body"])  # PDF bytes cross RPC as base64

    def pay(self, customer_id: int, invoice_id: str, token: str, idempotency_key: str) -> dict[str, Any]:
        return self.rpc.call("billing", "pay_invoice", customer_id, invoice_id, token, idempotency_key)
