from datetime import UTC, datetime, timedelta

from selfcare.domain.lockout import LoginLimits
from selfcare.domain.tokens import SessionPolicy, digest, new_secret, same

NOW = datetime(2026, 11, 29, 10, 7, 30, tzinfo=UTC)


def test_an_account_locks_only_when_the_failures_reach_the_threshold():
    limits = LoginLimits(max_failures=5, lock_for=timedelta(minutes=15))
    assert limits.locked_until(4, NOW) is None
    assert limits.locked_until(5, NOW) == NOW + timedelta(minutes=15)


def test_attempts_are_counted_in_fixed_windows_and_retry_after_points_at_the_next_one():
    limits = LoginLimits(window=timedelta(minutes=5))
    assert limits.window_start(NOW) == datetime(2026, 11, 29, 10, 5, tzinfo=UTC)
    assert limits.retry_after(NOW) == 150


def test_a_session_ends_after_the_idle_time_or_the_absolute_lifetime_whichever_comes_first():
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    assert policy.expires_at(NOW, NOW) == NOW + timedelta(minutes=30)
    late = NOW + timedelta(hours=11, minutes=50)
    assert policy.expires_at(NOW, late) == NOW + timedelta(hours=12)


def test_secrets_are_random_and_only_their_digest_is_a_lookup_key():
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 40
    assert digest(first) == digest(first) != digest(second)
    assert first not in digest(first)


def test_comparing_tokens_refuses_missing_or_different_values():
    assert same("abc", "abc")
    assert not same("abd", "abc")
    assert not same(None, "abc")
    assert not same("", "")
