"""The payment-provider port and its HTTP adapter.

A provider charges a customer's gateway token. Every charge carries an idempotency key:
asking again with the same key returns the first answer and never charges twice, so a
caller that did not hear the answer (timeout, provider down) retries with the same key.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from chassis.money import to_wire


class ChargeOutcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    reference: str | None
    code: str | None = None
    message: str | None = None


class ProviderUnavailable(Exception):
    """No answer (down, timeout, 5xx): whether the charge happened is unknown; retry with the same key."""


class PaymentProvider(Protocol):
    def charge(self, idempotency_key: str, token: str, amount: Decimal, currency: str,
               description: str) -> ChargeResult: ...


class HttpPaymentProvider:
    """`POST {url}/v1/charges` with an `Idempotency-Key` header (the local provider and Stripe-like APIs)."""

    def __init__(self, url: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def charge(self, idempotency_key: str, token: str, amount: Decimal, currency: str,
               description: str) -> ChargeResult:
        body = json.dumps({"token": token, "amount": to_wire(amount), "currency": currency,
                           "description": description}).encode()
        request = urllib.request.Request(f"{self.url}/v1/charges", data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": idempotency_key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 402:
                answer = json.loads(exc.read())
                return ChargeResult(ChargeOutcome.DECLINED, answer.get("id"), answer.get("code"),
                                    answer.get("message"))
            raise ProviderUnavailable(f"payment provider answered {exc.code}") from exc
        except (OSError, ValueError) as exc:  # refused, reset, timed out, garbled
            raise ProviderUnavailable(f"payment provider unreachable: {exc}") from exc
        return ChargeResult(ChargeOutcome.APPROVED, answer["id"])
