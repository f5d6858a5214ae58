"""Time: timezone-aware UTC, at the precision MongoDB stores (milliseconds), so
what a service returns right after a write equals what it reads back later."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
