"""Notification kinds, channels, delivery states and the retry rule. No I/O."""
from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class Status(StrEnum):
    PENDING = "pending"        # waiting for its first or next attempt
    DELIVERED = "delivered"
    DEAD = "dead"              # gave up after the last attempt: an operator may retry it


class Kind(StrEnum):
    """The notification types (one per source event, the account emails split by their `kind`)."""

    THRESHOLD_CROSSED = "threshold_crossed"
    INVOICE_ISSUED = "invoice_issued"
    PAYMENT_FAILED = "payment_failed"
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base·2^(n-1), capped, scaled by a random
    factor in [1 - jitter, 1] so receivers that failed together are not retried together."""

    base_seconds: float = 5.0
    cap_seconds: float = 600.0
    max_attempts: int = 6
    jitter: float = 0.5

    def delay_after(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after `attempts` failed attempts (1 for the first failure)."""
        raw = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        factor = 1.0 - self.jitter * (rng or random).random()
        return raw * factor

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def customer_channels(requested: list[str], opted_out: list[str]) -> list[Channel]:
    """The channels of a notification: those the event asks for, less the customer's opt-outs,
    in a fixed order (unknown names ignored: a newer producer may know more channels)."""
    wanted = {name for name in requested} - set(opted_out)
    return [channel for channel in Channel if channel.value in wanted]
