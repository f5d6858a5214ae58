"""The notification service's credentials come from a Kubernetes Secret, and only it gets them."""


PREFIX = "monetization"  # release "monetization" contains the chart name: names are <release>-...

NOTIFICATION_SECRETS = {"NOTIFICATION_SMTP_USERNAME": "smtp-username", "NOTIFICATION_SMTP_PASSWORD": "smtp-password",
                        "NOTIFICATION_SMS_API_KEY": "sms-api-key",
                        "NOTIFICATION_WEBHOOK_SECRET": "webhook-signing-secret"}


def _worker_env(rendered, service):
    deployment = rendered.one("Deployment", f"{PREFIX}-{service}-worker")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container.get("env", [])}


def test_smtp_sms_and_webhook_signing_secrets_come_from_the_notification_secret(render):
    rendered = render()
    env = _worker_env(rendered, "notification")
    for name, key in NOTIFICATION_SECRETS.items():
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "monetization-notification", "key": key}, name
        assert "value" not in env[name], "never a literal secret in the manifest"


def test_no_other_service_gets_the_notification_secrets(render):
    rendered = render()
    for service in ("customer", "rating", "billing", "gateway"):
        env = _worker_env(rendered, service)
        assert not set(NOTIFICATION_SECRETS) & set(env), service


def test_the_smtp_and_sms_endpoints_are_plain_configuration(render):
    rendered = render()
    config = rendered.one("ConfigMap", f"{PREFIX}-notification")
    assert config["data"]["NOTIFICATION_SMTP_PORT"] == "587" and config["data"]["NOTIFICATION_SMTP_STARTTLS"] == "true"
    assert "NOTIFICATION_SMTP_PASSWORD" not in config["data"]
