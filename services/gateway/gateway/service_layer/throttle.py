"""Failed-login counters in the gateway's database, shared by every API replica."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

from chassis.clock import utc_now
from chassis.errors import TooManyRequests
from gateway.adapters.documents import LoginThrottle
from gateway.domain.throttle import ThrottlePolicy, ThrottleState, after_failure, retry_after


def _state(doc: LoginThrottle | None) -> ThrottleState:
    if doc is None:
        return ThrottleState()
    aware = [value.replace(tzinfo=UTC) if value and value.tzinfo is None else value
             for value in (doc.window_start, doc.locked_until)]
    return ThrottleState(failures=doc.failures, window_start=aware[0], locked_until=aware[1])


def ensure_allowed(keys: Mapping[str, ThrottlePolicy]) -> None:
    """Refuse with 429 while any of the keys is locked out."""
    now = utc_now()
    wait = max((retry_after(_state(doc), now) for doc in LoginThrottle.objects(key__in=list(keys))), default=0)
    if wait:
        raise TooManyRequests(f"Too many failed logins; try again in {wait} s", {"username": "locked out for now"},
                              retry_after=wait)


def record_failure(keys: Mapping[str, ThrottlePolicy]) -> None:
    now = utc_now()
    for key, policy in keys.items():
        state = after_failure(_state(LoginThrottle.objects(key=key).first()), now, policy)
        LoginThrottle.objects(key=key).update_one(
            upsert=True, set__failures=state.failures, set__window_start=state.window_start,
            set__locked_until=state.locked_until)


def forget(key: str) -> None:
    """A successful login clears the user's failures (not the address's: one right password
    must not reset an address that is guessing other users' passwords)."""
    LoginThrottle.objects(key=key).delete()
