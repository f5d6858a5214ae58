"""The local test payment provider: a real HTTP server standing in for Stripe & co.

`python -m billing payment-provider` (port BILLING_PAYMENT_PROVIDER_PORT, else HEALTH_PORT, else its port in
contracts/services.toml, 8098).
Rules, by token:
- `tok_decline...` is declined (`card_declined`), `tok_insufficient...` too (`insufficient_funds`);
- `tok_slow...` answers after BILLING_PROVIDER_SLOW_SECONDS (5) — and still charges, like a real
  provider whose answer got lost;
- any other token is approved up to BILLING_PROVIDER_MAX_AMOUNT (10000), declined above
  (`amount_too_large`).
Every request waits BILLING_PROVIDER_DELAY_SECONDS (0) first. Idempotency keys are honoured: the
same key returns the first answer; the same key with another body is a 409.
`GET /v1/charges` lists the accepted charges, so tests can count them.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chassis.manifest import default_port
from chassis.settings import Settings


class ProviderState:
    def __init__(self, max_amount: Decimal, slow_seconds: float, delay_seconds: float):
        self.max_amount = max_amount
        self.slow_seconds = slow_seconds
        self.delay_seconds = delay_seconds
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = {}
        self.accepted: list[dict[str, Any]] = []

    def decide(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token, amount = request["token"], Decimal(request["amount"])
        charge_id = f"ch_{uuid.uuid4().hex[:16]}"
        if token.startswith("tok_decline"):
            return 402, {"id": charge_id, "status": "declined", "code": "card_declined",
                         "message": "the card was declined"}
        if token.startswith("tok_insufficient"):
            return 402, {"id": charge_id, "status": "declined", "code": "insufficient_funds",
                         "message": "insufficient funds"}
        if amount > self.max_amount:
            return 402, {"id": charge_id, "status": "declined", "code": "amount_too_large",
                         "message": f"amounts above {self.max_amount} are declined"}
        return 200, {"id": charge_id, "status": "approved", **request}

    def charge(self, key: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:  # one answer per key, even for concurrent retries
            if key in self.answers:
                first_request, status, answer = self.answers[key]
                if first_request != request:
                    return 409, {"code": "idempotency_key_reused", "message": "key used with another request"}
                return status, answer
            status, answer = self.decide(request)
            self.answers[key] = (request, status, answer)
            if status == 200:
                self.accepted.append({**answer, "idempotencyKey": key})
        return status, answer


def make_server(host: str, port: int, state: ProviderState) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/v1/charges":
                with state.lock:
                    self._send(200, {"count": len(state.accepted), "charges": list(state.accepted)})
            elif self.path in ("/health/live", "/health/ready"):
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"code": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/v1/charges":
                self._send(404, {"code": "not_found"})
                return
            key = self.headers.get("Idempotency-Key")
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                request = {"token": str(request["token"]), "amount": str(Decimal(str(request["amount"]))),
                           "currency": str(request["currency"]), "description": str(request.get("description", ""))}
            except (ValueError, KeyError, TypeError, InvalidOperation):
                self._send(400, {"code": "invalid_request", "message": "token, amount and currency are required"})
                return
            if not key:
                self._send(400, {"code": "idempotency_key_missing"})
                return
            time.sleep(state.delay_seconds)
            status, answer = state.charge(key, request)
            if request["token"].startswith("tok_slow"):
                time.sleep(state.slow_seconds)
            self._send(status, answer)

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)


def run(settings: Settings) -> None:
    get = settings.service_setting
    state = ProviderState(max_amount=Decimal(get("PROVIDER_MAX_AMOUNT", "10000")),
                          slow_seconds=float(get("PROVIDER_SLOW_SECONDS", "5")),
                          delay_seconds=float(get("PROVIDER_DELAY_SECONDS", "0")))
    # Its own variable under `make up`; else the port chassis.testing gives a started process (its health port).
    fallback = os.environ.get("HEALTH_PORT") or str(default_port("billing", "payment-provider"))
    port = int(get("PAYMENT_PROVIDER_PORT", fallback))
    server = make_server(settings.http_host, port, state)
    print(f"local payment provider on http://{settings.http_host}:{server.server_port}", flush=True)
    server.serve_forever()
