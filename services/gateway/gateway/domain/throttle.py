"""Login throttling: how many failed logins a key (a user, a client address) may have in a
window before it is locked out, and for how long. Pure rules; the store keeps the counters."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None


def retry_after(state: ThrottleState, now: datetime) -> int:
    """Whole seconds until the key may try again; 0 when it may try now."""
    if state.locked_until is None or state.locked_until <= now:
        return 0
    return max(1, math.ceil((state.locked_until - now).total_seconds()))


def after_failure(state: ThrottleState, now: datetime, policy: ThrottlePolicy) -> ThrottleState:
    """The state after one more failed login: failures count within the window; reaching the
    maximum locks the key for the lockout period and starts a new window."""
    fresh = state.window_start is None or now - state.window_start >= policy.window
    failures = 1 if fresh else state.failures + 1
    window_start = now if fresh else state.window_start
    if failures >= policy.max_failures:
        return ThrottleState(failures=0, window_start=None, locked_until=now + policy.lockout)
    return ThrottleState(failures=failures, window_start=window_start, locked_until=state.locked_until)
