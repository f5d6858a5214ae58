"""Brute-force limits on logging in (no I/O).

Two independent guards: an account locks after `max_failures` wrong passwords in a
row (a right password afterwards is refused until the lock ends); and attempts are
counted in fixed windows per account and per client address, so one address cannot
try many accounts and many addresses cannot hammer one account unnoticed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=5)
    per_account: int = 20
    per_address: int = 50

    def window_start(self, now: datetime) -> datetime:
        seconds = int(self.window.total_seconds())
        return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)

    def retry_after(self, now: datetime) -> int:
        """Seconds until the current window ends."""
        return max(1, int((self.window_start(now) + self.window - now).total_seconds()))

    def locked_until(self, failures: int, now: datetime) -> datetime | None:
        """When the account unlocks after this many consecutive failures (None: not locked)."""
        return now + self.lock_for if failures >= self.max_failures else None
