import random
import time

from notification.domain import signing
from notification.domain.model import Channel, RetryPolicy, customer_channels


def test_retries_back_off_exponentially_up_to_the_cap_with_jitter_below_the_plain_delay():
    policy = RetryPolicy(base_seconds=2, cap_seconds=30, max_attempts=6, jitter=0.5)
    rng = random.Random(7)
    for attempts, plain in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (9, 30)):
        delays = [policy.delay_after(attempts, rng) for _ in range(200)]
        assert all(plain * 0.5 <= d <= plain for d in delays)
        assert max(delays) - min(delays) > plain * 0.3, "jitter spreads the retries"


def test_the_policy_gives_up_after_its_last_attempt():
    policy = RetryPolicy(max_attempts=3)
    assert not policy.gives_up_after(2)
    assert policy.gives_up_after(3)


def test_channels_are_those_asked_for_less_the_opt_outs_and_unknown_names():
    assert customer_channels(["webhook", "email", "sms", "pigeon"], ["sms"]) == [Channel.EMAIL, Channel.WEBHOOK]
    assert customer_channels([], []) == []


def test_a_signature_verifies_with_the_same_secret_body_and_a_fresh_timestamp():
    body = b'{"id":"n-1","type":"balance.threshold_crossed"}'
    now = int(time.time())
    header = signing.signature("s3cret-s3cret-16", now, body)
    assert header.startswith("v1=") and len(header) == 3 + 64
    assert signing.verify("s3cret-s3cret-16", str(now), body, header, now=now + 10)


def test_a_signature_fails_for_another_body_secret_or_a_stale_timestamp():
    body, now = b'{"a":1}', int(time.time())
    header = signing.signature("secret-one-16chars", now, body)
    assert not signing.verify("secret-one-16chars", str(now), b'{"a":2}', header, now=now)
    assert not signing.verify("secret-two-16chars", str(now), body, header, now=now)
    assert not signing.verify("secret-one-16chars", str(now), body, header, now=now + 301)
    assert not signing.verify("secret-one-16chars", "yesterday", body, header, now=now)


def test_the_webhook_headers_carry_the_delivery_id_timestamp_and_signature():
    headers = signing.headers("secret-one-16chars", 1700000000, b"{}", "n-1")
    assert headers["Webhook-Id"] == "n-1" and headers["Webhook-Timestamp"] == "1700000000"
    assert headers["Webhook-Signature"] == signing.signature("secret-one-16chars", 1700000000, b"{}")
