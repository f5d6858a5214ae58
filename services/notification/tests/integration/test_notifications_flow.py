"""Threshold alerts and account emails end to end: CloudEvents published on the producers' exchanges →
notification worker → the real SMTP sink, SMS gateway and a webhook receiver; read back through the
gateway (real processes, real MongoDB and RabbitMQ)."""
import time

import pytest


@pytest.fixture(scope="module")
def platform(start_services, outside, kit):
    platform = start_services("gateway:api", "catalog", "customer", "notification",
                              env=kit.notification_env(outside))
    platform.run_job("catalog", "load-demo")
    platform.run_job("notification", "migrate")  # its queues exist before the tests publish
    return platform


@pytest.fixture(scope="module")
def threshold_webhook(client, outside):
    created = client.post("/api/v1/notifications/webhooks", json={
        "url": outside.webhooks.url, "eventTypes": ["balance.threshold_crossed", "billing.payment_failed"],
        "description": "the operator's alerting system"})
    assert created.status_code == 201, created.text
    assert created.json()["secretSet"] is False, "signed with the default secret from the environment"
    return created.json()


def delivered(client, kit, customer_id, count, **filters):
    rows = kit.wait_for(lambda: [r for r in kit.listed(client, customer_id, **filters) if r["status"] == "delivered"]
                        if len(kit.listed(client, customer_id, status="delivered", **filters)) >= count else None)
    assert rows, kit.listed(client, customer_id)
    return rows


def test_a_threshold_crossing_reaches_email_sms_and_a_signed_webhook_and_is_listed_delivered(
        client, outside, publisher, threshold_webhook, kit):
    customer = kit.new_customer(client)
    started = time.monotonic()
    event = publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"]))

    mails = kit.wait_for(lambda: outside.mail.messages(to=customer["email"]))
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "MB balance alert: threshold 80 % crossed"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "80 % (4000 MB)" in text and "Hello Ana Novak" in text and "<strong>MB</strong>" in html

    sms = kit.wait_for(lambda: outside.sms.messages(to=customer["phone"]))
    assert sms and "MB alert: threshold 80 % crossed" in sms[0]["text"]

    hooks = kit.wait_for(lambda: [h for h in outside.webhooks.received if h.body["sourceEventId"] == event.id])
    assert len(hooks) == 1 and hooks[0].signature_ok
    assert hooks[0].body["data"]["resource"] == "MB" and hooks[0].body["customerId"] == customer["id"]
    assert time.monotonic() - started < 30, "within seconds, even on a loaded machine"

    rows = delivered(client, kit, customer["id"], 3)
    assert {r["channel"] for r in rows} == {"email", "sms", "webhook"}
    for row in rows:
        assert (row["type"], row["resource"], row["threshold"], row["thresholdValue"]) == (
            "threshold_crossed", "MB", {"kind": "percent", "value": "80"}, "4000")
        assert row["triggeredAt"].startswith("2026-11-29T08:00:00") and row["sourceEventId"] == event.id
    webhook_row = next(r for r in rows if r["channel"] == "webhook")
    assert webhook_row["id"] == hooks[0].delivery_id == hooks[0].body["id"], "the delivery id receivers dedup on"

    detail = client.get(f"/api/v1/customers/{customer['id']}/notifications/{webhook_row['id']}")
    assert detail.status_code == 200, detail.text
    assert [a["outcome"] for a in detail.json()["attempts"]] == ["delivered"]
    assert detail.json()["recipient"] == outside.webhooks.url


def test_the_same_source_event_twice_sends_once(client, outside, publisher, threshold_webhook, kit):
    customer = kit.new_customer(client)
    event = publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"], channels=["email",
                                                                                                         "webhook"]))
    publisher.publish("balance.threshold_crossed", event.data, event=event)
    delivered(client, kit, customer["id"], 2)
    time.sleep(2)  # give a wrong second delivery every chance to show up
    assert len(outside.mail.messages(to=customer["email"])) == 1
    assert len([h for h in outside.webhooks.received if h.body["sourceEventId"] == event.id]) == 1
    assert len(kit.listed(client, customer["id"])) == 2


def test_the_list_filters_by_type_resource_channel_and_period(client, outside, publisher, threshold_webhook, kit):
    customer = kit.new_customer(client)
    publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"], resource="MIN",
                                                                       channels=["email"]))
    publisher.publish("billing.invoice_issued", {
        "invoiceId": "inv-1", "number": "2026-000042", "customerId": customer["id"], "billingProfileId": "bp-1",
        "billId": "b-1", "amount": "23.79", "taxAmount": "3.80", "dueAmount": "23.79", "currency": "EUR",
        "dueDate": "2026-12-15", "issuedAt": "2026-12-01T00:00:00+00:00"})
    delivered(client, kit, customer["id"], 2)
    assert [r["type"] for r in kit.listed(client, customer["id"], type="invoice_issued")] == ["invoice_issued"]
    assert [r["resource"] for r in kit.listed(client, customer["id"], resource="MIN")] == ["MIN"]
    assert [r["type"] for r in kit.listed(client, customer["id"], **{"from": "2026-11-30T00:00:00Z"})] == [
        "invoice_issued"]
    assert [r["type"] for r in kit.listed(client, customer["id"], to="2026-11-30T00:00:00Z")] == ["threshold_crossed"]
    invoice_mail = outside.mail.messages(to=customer["email"])
    assert any(m["Subject"] == "Invoice 2026-000042: 23.79 EUR due 2026-12-15" for m in invoice_mail)
    bad = client.get(f"/api/v1/customers/{customer['id']}/notifications", params={"type": "birthday"})
    assert bad.status_code == 400


def test_opt_outs_and_the_contact_tag_choose_channels_and_recipient(client, outside, publisher, kit):
    customer = kit.new_customer(client)
    billing = {**{k: v for k, v in customer.items() if k in ("address", "city", "state", "country")},
               "tag": "billing", "firstName": "Bojan", "lastName": "Novak", "email": f"billing-{customer['email']}",
               "phone": "+38641999888"}
    assert client.post(f"/api/v1/customers/{customer['id']}/contacts", json=billing).status_code == 201
    prefs = client.put(f"/api/v1/customers/{customer['id']}/notificationPreferences",
                       json={"optOut": ["sms"], "contactTag": "billing"})
    assert prefs.status_code == 200 and prefs.json()["optOut"] == ["sms"]

    publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"], channels=["email", "sms"]))
    rows = delivered(client, kit, customer["id"], 1)
    assert [(r["channel"], r["recipient"]) for r in rows] == [("email", billing["email"])]
    assert outside.mail.messages(to=billing["email"])[0]["Subject"].startswith("MB balance alert")

    publisher.publish("selfcare.email_requested", {"kind": "verification", "customerId": customer["id"],
                                                   "email": "typed@example.com", "name": "Ana",
                                                   "link": "https://portal.example/verify?t=abc",
                                                   "expiresAt": "2026-11-30T08:00:00+00:00"})
    verification = kit.wait_for(lambda: outside.mail.messages(to="typed@example.com"))
    assert verification[0]["Subject"] == "Confirm your email address"
    assert "https://portal.example/verify?t=abc" in verification[0].get_body(("plain",)).get_content()


def test_a_failing_webhook_is_retried_with_backoff_dead_lettered_and_delivered_by_an_operators_retry(
        client, outside, publisher, kit):
    from notification.standins.webhook_receiver import WebhookReceiver

    flaky = WebhookReceiver(kit.secret)
    flaky.mode = "fail"
    endpoint = client.post("/api/v1/notifications/webhooks", json={
        "url": flaky.url, "eventTypes": ["billing.payment_failed"], "secret": "flaky-endpoint-secret"}).json()
    flaky.secret = "flaky-endpoint-secret"
    try:
        customer = kit.new_customer(client)
        publisher.publish("billing.payment_failed", {
            "invoiceId": "inv-9", "number": "2026-000099", "customerId": customer["id"], "billingProfileId": "bp-9",
            "amount": "10.00", "currency": "EUR", "method": "sepa", "reason": "Account closed", "reasonCode": "AC04",
            "attempt": 1, "nextAttemptAt": None, "failedAt": "2026-12-05T10:00:00+00:00"})

        def dead():
            rows = client.get("/api/v1/notifications/dead-letters", params={"limit": 500}).json()
            return next((r for r in rows if r["customerId"] == customer["id"] and r["recipient"] == flaky.url), None)

        row = kit.wait_for(dead, timeout=60)
        assert row, kit.listed(client, customer["id"])
        detail = client.get(f"/api/v1/notifications/{row['id']}").json()
        attempts = detail["attempts"]
        assert [a["outcome"] for a in attempts] == ["failed"] * 3 and "answered 500" in attempts[0]["error"]
        assert flaky.refused == 3
        gaps = [(_at(b) - _at(a)) for a, b in zip(attempts, attempts[1:], strict=False)]
        assert gaps[0] >= 0.2 and gaps[1] >= 0.5, f"exponential backoff (base 0.5 s, jitter ≤ 50 %): {gaps}"

        flaky.mode = "ok"  # the receiver is back
        retried = client.post(f"/api/v1/notifications/{row['id']}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "delivered"
        assert [a["outcome"] for a in retried.json()["attempts"]] == ["failed"] * 3 + ["delivered"]
        assert len(flaky.received) == 1 and flaky.received[0].signature_ok
        assert client.post(f"/api/v1/notifications/{row['id']}/retry").status_code == 409
        audit = client.get("/api/v1/audit", params={"target": f"notification/{row['id']}"}).json()
        assert audit and audit[0]["operation"] == "gateway.api.notifications.retry"
    finally:
        client.delete(f"/api/v1/notifications/webhooks/{endpoint['id']}")
        flaky.close()


def _at(attempt):
    from datetime import datetime

    return datetime.fromisoformat(attempt["at"]).timestamp()


def test_a_purged_customer_leaves_no_notifications_and_later_events_store_nothing(client, publisher, outside, kit):
    customer = kit.new_customer(client)
    publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"], channels=["email"]))
    delivered(client, kit, customer["id"], 1)
    publisher.publish("customer.purged", {"id": customer["id"], "reason": "retention elapsed",
                                          "purgedAt": "2026-12-31T00:00:00+00:00"})
    assert kit.wait_for(lambda: kit.listed(client, customer["id"]) == [])
    publisher.publish("balance.threshold_crossed", kit.threshold_event(customer["id"], channels=["email"]))
    time.sleep(2)
    assert kit.listed(client, customer["id"]) == []
    assert len(outside.mail.messages(to=customer["email"])) == 1
