"""Login throttling rules (pure)."""
from datetime import UTC, datetime, timedelta

from gateway.domain.throttle import ThrottlePolicy, ThrottleState, after_failure, retry_after

POLICY = ThrottlePolicy(max_failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=5))
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def fail(times, start=T0, state=ThrottleState(), step=timedelta(seconds=1)):
    for i in range(times):
        state = after_failure(state, start + i * step, POLICY)
    return state


def test_failures_below_the_maximum_do_not_lock():
    state = fail(2)
    assert state.failures == 2 and retry_after(state, T0 + timedelta(seconds=2)) == 0


def test_reaching_the_maximum_locks_for_the_lockout_period():
    state = fail(3)
    assert retry_after(state, T0 + timedelta(seconds=2)) == 300
    assert retry_after(state, T0 + timedelta(seconds=2, minutes=5)) == 0


def test_failures_older_than_the_window_are_forgotten():
    state = fail(2)
    state = after_failure(state, T0 + timedelta(minutes=16), POLICY)
    assert state.failures == 1 and retry_after(state, T0 + timedelta(minutes=16)) == 0


def test_retry_after_rounds_up_to_whole_seconds():
    state = ThrottleState(locked_until=T0 + timedelta(milliseconds=1500))
    assert retry_after(state, T0) == 2
