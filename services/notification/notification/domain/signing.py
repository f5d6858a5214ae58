"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" (the receiver's recipe is in docs/notifications.md).

The timestamp is signed with the body so a captured request cannot be replayed later:
a receiver refuses signatures older than a few minutes.
"""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Webhook-Signature"
TIMESTAMP_HEADER = "Webhook-Timestamp"
ID_HEADER = "Webhook-Id"
VERSION = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=<hex digest>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def headers(secret: str, timestamp: int, body: bytes, delivery_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, header: str, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance_seconds:
        return False
    expected = signature(secret, sent_at, body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in header.split(","))
