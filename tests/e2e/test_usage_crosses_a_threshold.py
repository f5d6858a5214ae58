"""The money path to the customer's inbox: an onboarded customer's usage, streamed to rating, crosses
the credit profile's thresholds → rating publishes `balance.threshold_crossed` → the notification
worker emails the customer (local SMTP sink), texts them (local SMS gateway) and calls the operator's
webhook with a signed body; the notifications are listed as delivered (real processes throughout)."""
import json
import time
import uuid
from datetime import UTC, datetime

import pika
import pytest

from chassis.testing import operator_client
from notification.standins.processes import SmsGatewayProcess, SmtpSinkProcess, worker_env
from notification.standins.webhook_receiver import WebhookReceiver

SECRET = "e2e-signing-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outside")
    mail, sms, hooks = SmtpSinkProcess(folder / "mail"), SmsGatewayProcess(folder), WebhookReceiver(SECRET)
    yield mail, sms, hooks
    hooks.close()
    sms.stop()
    mail.stop()


@pytest.fixture(scope="module")
def platform(start_services, outside):
    mail, sms, _ = outside
    # The demo's STANDARD credit profile: EUR 100, alerts at 80 % (email, sms) and 100 % (email, sms, webhook).
    platform = start_services("gateway:api", "catalog", "customer", "billing", "rating", "notification",
                              "rating:stream", env={**worker_env(mail, sms, SECRET),
                                                    "RATING_DEFAULT_CREDIT_PROFILE": "STANDARD"})
    platform.run_job("catalog", "load-demo", timeout=600)
    platform.run_job("notification", "migrate", timeout=600)  # its queues exist before rating publishes
    return platform


def eventually(fetch, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def onboard(client, identifier):
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/api/v1/onboardings", json={
        "account": {"firstName": "Ana", "lastName": "Novak", "email": email, "phone": "+386 40 111 222",
                    "address": "Slovenska 1", "city": "Ljubljana", "state": "Osrednjeslovenska", "country": "SI",
                    "customerType": "regular"},
        "paymentInfo": {"method": "invoice"},
        "subscription": {"paymentType": "postpaid", "resource": "EUR", "interval": "monthly", "billingDay": 31,
                         "serviceIdentifier": identifier, "plan": {"code": "MOBILE-S", "products": [
                             {"code": "MOBILE-FEE", "value": "17.50"}]}}},
        timeout=120)  # a saga over four services
    assert response.status_code == 201, response.text
    return response.json()["customer"]["id"], email


def stream_call(amqp_uri, identifier, minutes):
    """One international peak call on the usage stream, as a mediation system sends it."""
    # Whole seconds, as mediation sends them: the caller waits over a second after onboarding so
    # that the truncated start still lies after the service's validFrom.
    start = datetime.now(UTC).replace(microsecond=0)
    event = {"id": f"call-{uuid.uuid4().hex}", "serviceType": "voice", "serviceIdentifier": identifier,
             "startTime": start.isoformat(), "quantity": str(minutes),
             "fields": {"endTime": start.isoformat(), "from": identifier, "to": "0039061234567",
                        "origin": "Slovenia", "destination": "international", "timeBand": "peak"}}
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        connection.channel().basic_publish("rating.usage", "voice", json.dumps(event).encode(),
                                           pika.BasicProperties(content_type="application/json", delivery_mode=2))
    finally:
        connection.close()
    return event["id"]


# Seven processes and three stand-ins: starting and stopping them alone can take minutes on a loaded machine.
@pytest.mark.timeout(900)
def test_usage_crossing_the_credit_thresholds_is_emailed_texted_and_posted_as_a_signed_webhook(platform, outside):
    mail, sms, hooks = outside
    with operator_client(platform) as client:
        hook = client.post("/api/v1/notifications/webhooks", json={"url": hooks.url,
                                                                   "eventTypes": ["balance.threshold_crossed"]})
        assert hook.status_code == 201, hook.text
        identifier = f"386{time.time_ns() % 10**9:09d}"
        customer_id, email = onboard(client, identifier)
        time.sleep(1.5)  # the call (whole seconds) starts after the service's validFrom

        # 100 free minutes, then 200 minutes at 0.99 EUR: 198 EUR crosses 80 and 100 of the 100 EUR limit.
        started = time.monotonic()
        call_id = stream_call(platform.env["AMQP_URI"], identifier, 300)

        mails = eventually(lambda: len(mail.messages(to=email)) >= 2 and mail.messages(to=email))
        usage = platform.database("rating").usage.find_one({"_id": call_id})
        assert mails, f"no email; usage record: {usage}"
        subjects = sorted(m["Subject"] for m in mails)
        assert subjects == ["EUR balance alert: threshold 100 % crossed", "EUR balance alert: threshold 80 % crossed"]
        alert = next(m for m in mails if "80 %" in m["Subject"]).get_body(("plain",)).get_content()
        assert "your EUR balance crossed the alert threshold of 80 % (80" in alert

        posted = eventually(lambda: [h for h in hooks.received if h.body["customerId"] == customer_id])
        assert len(posted) == 1 and posted[0].signature_ok, "only the 100 % threshold has the webhook channel"
        assert posted[0].body["data"]["resource"] == "EUR" and posted[0].body["data"]["threshold"]["value"] == "100"
        assert len(eventually(lambda: sms.messages(to="+386 40 111 222"))) >= 1
        elapsed = time.monotonic() - started

        def all_delivered():
            rows = client.get(f"/api/v1/customers/{customer_id}/notifications").json()
            return len(rows) == 5 and all(r["status"] == "delivered" for r in rows) and rows

        rows = eventually(all_delivered)
        assert rows, client.get(f"/api/v1/customers/{customer_id}/notifications").json()
        assert sorted((r["threshold"]["value"], r["channel"]) for r in rows) == [
            ("100", "email"), ("100", "sms"), ("100", "webhook"), ("80", "email"), ("80", "sms")]
        assert {r["resource"] for r in rows} == {"EUR"}
        assert elapsed < 60, f"usage → notifications took {elapsed:.1f} s"
