from chassis.settings import Settings


def test_defaults_give_each_service_its_own_database_and_health_port(monkeypatch):
    for name in ("MONGODB_URI", "MONGODB_DB_PREFIX", "HEALTH_PORT", "SERVICE_NAME", "AMQP_URI"):
        monkeypatch.delenv(name, raising=False)
    customer, billing = Settings.from_env("customer"), Settings.from_env("billing")
    assert customer.database == "monetization_customer"
    assert billing.database == "monetization_billing"
    assert customer.health_port != billing.health_port
    assert Settings.from_env("gateway").http_port == 8080
    assert Settings.from_env("selfcare").http_port == 8081
    assert customer.amqp_uri == "amqp://guest:guest@127.0.0.1:5672/"
    assert customer.otlp_endpoint is None


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("MONGODB_DB_PREFIX", "x_")
    monkeypatch.setenv("HEALTH_PORT", "9999")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("CUSTOMER_RETENTION_DAYS", "7")
    settings = Settings.from_env("customer")
    assert settings.database == "x_customer"
    assert settings.health_port == 9999
    assert settings.otlp_endpoint == "http://collector:4318"
    assert settings.service_setting("RETENTION_DAYS", "30") == "7"


def test_default_ports_come_from_the_manifest_per_process(monkeypatch):
    from chassis.manifest import load

    for name in ("HEALTH_PORT", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    manifest = load()
    assert Settings.from_env("rating").health_port == manifest.port("rating", "worker")
    assert Settings.from_env("rating", process="stream").health_port == manifest.port("rating", "stream")
    assert Settings.from_env("gateway").http_port == manifest.port("gateway", "api")


def test_a_service_the_manifest_does_not_declare_gets_the_container_defaults(monkeypatch):
    for name in ("HEALTH_PORT", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    sample = Settings.from_env("sample")  # the chassis' own test service
    assert (sample.health_port, sample.http_port) == (8090, 8080)
