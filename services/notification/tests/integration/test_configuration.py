"""Operators read and change the notification configuration through the gateway: bad configuration
is a 400 naming the field at configuration time, secrets are write-only, and the SMTP settings
(auth, STARTTLS) are what the worker then uses (real processes, a real aiosmtpd server)."""
import uuid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from chassis import localinfra

SMTP_PASSWORD = "smtp-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def platform(start_services, outside, kit):
    platform = start_services("customer", "notification", "gateway:api", env=kit.notification_env(outside))
    platform.run_job("notification", "migrate")  # its queues exist before the tests publish
    return platform


def invalid(response):
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {p["name"]: p["reason"] for p in response.json().get("invalid_params", [])}


def test_a_webhook_with_an_invalid_url_or_event_type_is_refused_and_nothing_is_stored(client):
    before = client.get("/api/v1/notifications/webhooks").json()
    bad = client.post("/api/v1/notifications/webhooks", json={"url": "ftp://example.com/x",
                                                               "eventTypes": ["billing.invoice_issued"]})
    assert "url" in invalid(bad)
    bad = client.post("/api/v1/notifications/webhooks", json={"url": "not a url",
                                                               "eventTypes": ["billing.invoice_issued"]})
    assert "url" in invalid(bad)
    bad = client.post("/api/v1/notifications/webhooks", json={"url": "https://hooks.example.com/x",
                                                               "eventTypes": ["billing.nothing"]})
    assert "eventTypes.0" in invalid(bad)
    bad = client.post("/api/v1/notifications/webhooks", json={"url": "https://hooks.example.com/x",
                                                               "eventTypes": ["billing.invoice_issued"],
                                                               "secret": "short"})
    assert "secret" in invalid(bad)
    assert client.get("/api/v1/notifications/webhooks").json() == before


def test_a_webhook_secret_is_write_only_and_kept_when_the_endpoint_is_replaced(client):
    created = client.post("/api/v1/notifications/webhooks", json={
        "url": "https://hooks.example.com/a", "eventTypes": ["billing.invoice_issued"], "secret": "x" * 20})
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secretSet"] is True and "secret" not in endpoint
    replaced = client.put(f"/api/v1/notifications/webhooks/{endpoint['id']}", json={
        "url": "https://hooks.example.com/b", "eventTypes": ["billing.invoice_issued"], "enabled": False})
    assert replaced.status_code == 200 and replaced.json()["secretSet"] is True
    assert replaced.json()["url"] == "https://hooks.example.com/b" and replaced.json()["enabled"] is False
    assert client.delete(f"/api/v1/notifications/webhooks/{endpoint['id']}").status_code == 204
    assert client.get(f"/api/v1/notifications/webhooks/{endpoint['id']}").status_code == 404


def test_a_template_with_an_unknown_variable_is_refused_naming_it(client):
    bad = client.put("/api/v1/notifications/templates/threshold_crossed",
                     json={"subject": "{{ resource }} low", "text": "Only {{ balanse }} left"})
    assert "'balanse'" in invalid(bad)["text"]
    template = client.get("/api/v1/notifications/templates/threshold_crossed").json()
    assert template["customized"] is False and "balance" in template["variables"]
    assert client.get("/api/v1/notifications/templates/birthday").status_code in (400, 404)


def test_an_operator_changes_a_template_and_resets_it(client):
    changed = client.put("/api/v1/notifications/templates/invoice_issued", json={"subject": "Bill {{ number }}"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["subject"] == "Bill {{ number }}" and changed.json()["customized"] is True
    assert changed.json()["text"].startswith("Hello"), "parts not sent keep their text"
    reset = client.delete("/api/v1/notifications/templates/invoice_issued")
    assert reset.status_code == 200 and reset.json()["customized"] is False


def test_smtp_settings_without_a_host_or_with_a_bad_port_are_refused(client):
    assert "host" in invalid(client.put("/api/v1/notifications/settings/smtp",
                                        json={"fromAddress": "alerts@example.com"}))
    assert "port" in invalid(client.put("/api/v1/notifications/settings/smtp",
                                        json={"host": "smtp.example.com", "port": 70000,
                                              "fromAddress": "alerts@example.com"}))
    assert "url" in invalid(client.put("/api/v1/notifications/settings/sms", json={"url": "sms-provider"}))
    current = client.get("/api/v1/notifications/settings/smtp").json()
    assert current["source"] == "environment"


def test_preferences_of_an_unknown_customer_are_not_found_and_bad_channels_refused(client):
    assert client.get("/api/v1/customers/999999/notificationPreferences").status_code == 404
    assert client.put("/api/v1/customers/999999/notificationPreferences", json={"optOut": []}).status_code == 404


class Authenticated:
    def __init__(self):
        self.logins, self.messages = [], []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"alerts" and auth_data.password == SMTP_PASSWORD.encode()
        self.logins.append((auth_data.login, ok))
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def authenticating_smtp():
    handler = Authenticated()
    controller = Controller(handler, hostname="127.0.0.1", port=localinfra.free_port(), authenticator=handler,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    yield controller, handler
    controller.stop()


def test_smtp_auth_from_the_operators_settings_is_used_and_the_password_never_shown(
        client, outside, publisher, authenticating_smtp, kit):
    controller, server = authenticating_smtp
    settings = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "username": "alerts",
                "password": SMTP_PASSWORD, "fromAddress": "alerts@example.com", "timeoutSeconds": 5}
    saved = client.put("/api/v1/notifications/settings/smtp", json=settings)
    assert saved.status_code == 200, saved.text
    assert saved.json()["passwordSet"] is True and "password" not in saved.json()
    assert SMTP_PASSWORD not in client.get("/api/v1/audit", params={"limit": 5}).text
    # null removes the password; leaving it out keeps the stored one (it cannot be read back to resend).
    assert client.put("/api/v1/notifications/settings/smtp", json={**settings, "password": None,
                                                                    "timeoutSeconds": 6}).json()["passwordSet"] is False
    assert client.put("/api/v1/notifications/settings/smtp", json=settings).status_code == 200
    kept = client.put("/api/v1/notifications/settings/smtp",
                      json={k: v for k, v in settings.items() if k != "password"})
    assert kept.json()["passwordSet"] is True
    try:
        publisher.publish("selfcare.email_requested", {"kind": "password_reset", "customerId": 1,
                                                       "email": "reset@example.com", "name": "Ana",
                                                       "link": "https://portal.example/reset?t=1",
                                                       "expiresAt": "2026-11-30T08:00:00+00:00"})
        assert kit.wait_for(lambda: server.messages)
        assert server.logins == [(b"alerts", True)]
        assert server.messages[0].rcpt_tos == ["reset@example.com"]
        assert server.messages[0].mail_from == "alerts@example.com"

        # STARTTLS asked of a server that does not offer it: the attempt fails rather than sending in clear.
        assert client.put("/api/v1/notifications/settings/smtp", json={**settings, "starttls": True}).status_code == 200
        publisher.publish("selfcare.email_requested", {"kind": "verification", "customerId": 2,
                                                       "email": "tls@example.com", "name": "Bo",
                                                       "link": "https://portal.example/v?t=2",
                                                       "expiresAt": "2026-11-30T08:00:00+00:00"})
        row = kit.wait_for(lambda: kit.listed(client, 2, channel="email"))
        detail = kit.wait_for(lambda: (lambda d: d if d["attempts"] else None)(
            client.get(f"/api/v1/notifications/{row[0]['id']}").json()))
        assert "STARTTLS" in detail["attempts"][0]["error"] and detail["status"] in ("pending", "dead")
        assert len(server.messages) == 1
    finally:
        env = kit.notification_env(outside)
        client.put("/api/v1/notifications/settings/smtp", json={
            "host": "127.0.0.1", "port": int(env["NOTIFICATION_SMTP_PORT"]), "starttls": False, "password": None,
            "fromAddress": "notifications@monetization.local"})
