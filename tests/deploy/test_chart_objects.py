"""What the chart renders, object by object: per-service workloads, selectors, checksums, autoscaling,
KEDA, operators, NetworkPolicies, Ingress, CronJobs, the migration hook, the test Pod, NOTES."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import helm_python as helm
import pytest

from chassis import manifest

MANIFEST = manifest.load()  # contracts/services.toml: the services and their processes
SERVICES = list(MANIFEST.names)
API_PORTS = MANIFEST.ports("api")
DEPLOYMENTS = len(MANIFEST.processes(stand_ins=False))  # one per process; stand-ins are never deployed
PREFIX = "monetization"  # release "monetization" contains the chart name: names are <release>-...


def _deployment_of(rendered, service: str, component: str) -> dict[str, Any]:
    return rendered.one("Deployment", f"{PREFIX}-{service}-{component}")


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"]["labels"]


# ---------------------------------------------------------------- per-service objects

def test_every_service_gets_its_objects(render) -> None:
    rendered = render()
    for service in MANIFEST.services:
        for component in service.kinds:  # worker, and api or stream (rating's usage stream) where declared
            name = f"{PREFIX}-{service.name}-{component}"
            for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "HorizontalPodAutoscaler"):
                rendered.one(kind, name)
        rendered.one("ConfigMap", f"{PREFIX}-{service.name}")
        rendered.one("ServiceAccount", f"{PREFIX}-{service.name}")
    assert len(rendered.kind("Deployment")) == DEPLOYMENTS
    assert not rendered.kind("Secret"), "the chart never holds secrets: they come from existing Secrets"
    assert not rendered.kind("StatefulSet"), "no home-made database or broker"


def test_each_process_runs_its_command_on_its_port(render) -> None:
    rendered = render()
    for service in SERVICES:
        worker = _container(_deployment_of(rendered, service, "worker"))
        assert worker["command"] == ["python", "-m", service] and worker["args"] == ["worker"]
        assert worker["ports"] == [{"name": "health", "containerPort": 8090, "protocol": "TCP"}]
        assert _env(worker)["HEALTH_PORT"]["value"] == "8090"
    for service, port in API_PORTS.items():
        api = _container(_deployment_of(rendered, service, "api"))
        assert api["args"] == ["api"]
        assert api["ports"][0]["containerPort"] == port
        assert _env(api)["HTTP_PORT"]["value"] == str(port)


def test_a_disabled_service_disappears_everywhere(render, all_ci_values, merge) -> None:
    values = merge(all_ci_values["production-values.yaml"], {"services": {"billing": {"enabled": False}}})
    values = merge(values, all_ci_values["operators-values.yaml"])
    rendered = render(values)
    assert not [d for d in rendered.docs if d["metadata"]["name"].startswith(f"{PREFIX}-billing")]
    cron_images = [c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
                   for c in rendered.kind("CronJob")]
    assert cron_images and not [image for image in cron_images if "/billing:" in image]
    job = rendered.kind("Job")[0]["spec"]["template"]["spec"]
    assert "migrate-billing" not in [c["name"] for c in job.get("initContainers", []) + job["containers"]]
    roles = rendered.kind("MongoDBCommunity")[0]["spec"]["users"][0]["roles"]
    assert {r["db"] for r in roles} == {f"monetization_{s}" for s in SERVICES if s != "billing"}


def test_configmaps_carry_the_platform_environment(render) -> None:
    rendered = render()
    for service in SERVICES:
        data = rendered.one("ConfigMap", f"{PREFIX}-{service}")["data"]
        assert data["SERVICE_NAME"] == service
        assert data["MONGODB_DB_PREFIX"] == "monetization_"
        assert data["LOG_LEVEL"] == "INFO"
        assert data["CONTRACTS_DIR"] == "/app/contracts"
        assert data["HTTP_HOST"] == "0.0.0.0", "the chassis binds 127.0.0.1 by default: probes would fail"
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in data
        assert all(isinstance(v, str) for v in data.values())
    assert rendered.one("ConfigMap", f"{PREFIX}-customer")["data"]["CUSTOMER_RETENTION_DAYS"] == "30"
    for service in SERVICES:
        envfrom = _container(_deployment_of(rendered, service, "worker"))["envFrom"]
        assert envfrom == [{"configMapRef": {"name": f"{PREFIX}-{service}"}}]


# ---------------------------------------------------------------- secrets

def test_uris_and_service_secrets_come_from_existing_secrets(render) -> None:
    rendered = render()
    for _doc, _, container, _ in rendered.containers():
        if container["name"] == "check-gateway-ready":
            continue
        env = _env(container)
        assert env["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {"name": "monetization-mongodb", "key": "uri"}
        assert env["AMQP_URI"]["valueFrom"]["secretKeyRef"] == {"name": "monetization-rabbitmq", "key": "uri"}
    gateway_vars = {"GATEWAY_ADMIN_USERNAME", "GATEWAY_ADMIN_PASSWORD", "GATEWAY_TOKEN_SECRET"}
    for component in ("worker", "api"):
        env = _env(_container(_deployment_of(rendered, "gateway", component)))
        assert gateway_vars <= set(env)
        assert all(env[v]["valueFrom"]["secretKeyRef"]["name"] == "monetization-gateway" for v in gateway_vars)
    selfcare_api = _env(_container(_deployment_of(rendered, "selfcare", "api")))
    assert selfcare_api["SELFCARE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "monetization-selfcare", "key": "session-secret"}
    # Least privilege: secrets reach only the processes that need them.
    assert "SELFCARE_SESSION_SECRET" not in _env(_container(_deployment_of(rendered, "selfcare", "worker")))
    for service in ("customer", "rating", "selfcare"):
        assert not gateway_vars & set(_env(_container(_deployment_of(rendered, service, "worker"))))


# ---------------------------------------------------------------- labels, selectors, checksums

def test_selectors_are_stable_subsets_of_the_pod_labels(render) -> None:
    base = render()
    changed = render({"image": {"tag": "9.9.9"}, "commonLabels": {"team": "x"},
                      "config": {"logLevel": "DEBUG"}})
    for doc in base.kind("Deployment"):
        selector = doc["spec"]["selector"]["matchLabels"]
        assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
        assert selector.items() <= _pod_labels(doc).items()
        other = changed.one("Deployment", doc["metadata"]["name"])
        assert other["spec"]["selector"] == doc["spec"]["selector"], "selectors are immutable"
        assert other["metadata"]["labels"]["team"] == "x"
        service = base.one("Service", doc["metadata"]["name"])
        assert service["spec"]["selector"] == selector
        assert base.one("PodDisruptionBudget", doc["metadata"]["name"])["spec"]["selector"]["matchLabels"] == selector
        assert base.one("NetworkPolicy", doc["metadata"]["name"])["spec"]["podSelector"]["matchLabels"] == selector
        assert base.one("HorizontalPodAutoscaler", doc["metadata"]["name"])["spec"]["scaleTargetRef"]["name"] == \
            doc["metadata"]["name"]
    for doc in base.docs:
        labels = doc["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"):
            assert key in labels, f"{doc['kind']}/{doc['metadata']['name']}: {key}"


def _checksums(rendered) -> dict[str, str]:
    out = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
           for d in rendered.kind("Deployment")}
    out.update({c["metadata"]["name"]: c["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"][
        "checksum/config"] for c in rendered.kind("CronJob")})
    return out


def test_config_checksum_restarts_exactly_the_pods_whose_config_changed(render) -> None:
    base = _checksums(render())
    one_service = _checksums(render({"services": {"customer": {"config": {"CUSTOMER_RETENTION_DAYS": "45"}}}}))
    changed = {name for name in base if base[name] != one_service[name]}
    assert changed == {f"{PREFIX}-customer-worker", f"{PREFIX}-purge-closed-accounts"}
    everything = _checksums(render({"config": {"logLevel": "DEBUG"}}))
    assert all(base[name] != everything[name] for name in base)
    assert _checksums(render({"image": {"tag": "2.0.0"}})) == base, "an image change is not a config change"


def test_images_follow_the_registry_tag_and_digest(render, all_ci_values) -> None:
    default = _container(_deployment_of(render(), "rating", "worker"))["image"]
    assert default == "monetization/rating:0.1.0", "the default tag is the chart's pinned appVersion"
    production = _container(_deployment_of(render(all_ci_values["production-values.yaml"]), "rating", "worker"))
    assert production["image"].startswith("registry.example.com/monetization/rating:0.1.0@sha256:")
    override = render({"services": {"rating": {"image": {"repository": "team/rating-fast", "tag": "0.1.1"}}}})
    assert _container(_deployment_of(override, "rating", "worker"))["image"] == "team/rating-fast:0.1.1"
    assert _container(_deployment_of(override, "billing", "worker"))["image"] == "monetization/billing:0.1.0"


def test_long_release_names_keep_distinct_names(render) -> None:
    release = "a-very-long-release-name-for-the-billing-platform-x"
    rendered = render(release=release)
    names = [(d["kind"], d["metadata"]["name"]) for d in rendered.docs]
    assert len(names) == len(set(names))
    assert all(len(name) <= 63 for _, name in names)
    assert any(name.endswith("-notification-worker") for _, name in names)
    assert all(len(c["metadata"]["name"]) <= 52 for c in rendered.kind("CronJob"))


# ---------------------------------------------------------------- scaling

def test_hpa_owns_the_replicas_when_enabled(render) -> None:
    rendered = render({"services": {"catalog": {"worker": {"autoscaling": {"enabled": False}, "replicas": 3}}}})
    assert "replicas" not in _deployment_of(rendered, "customer", "worker")["spec"]
    assert _deployment_of(rendered, "catalog", "worker")["spec"]["replicas"] == 3
    assert f"{PREFIX}-catalog-worker" not in rendered.names("HorizontalPodAutoscaler")
    hpa = rendered.one("HorizontalPodAutoscaler", f"{PREFIX}-gateway-api")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)


def test_autoscaling_bounds_are_checked(chart) -> None:
    with pytest.raises(helm.HelmRenderError, match="minReplicas is greater than maxReplicas"):
        chart.render({"services": {"rating": {"worker": {"autoscaling": {"minReplicas": 9, "maxReplicas": 3}}}}},
                     name="monetization", namespace="billing")


def test_pdb_prefers_min_available_when_set(render, all_ci_values) -> None:
    default = render().one("PodDisruptionBudget", f"{PREFIX}-customer-worker")["spec"]
    assert default["maxUnavailable"] == 1 and "minAvailable" not in default
    production = render(all_ci_values["production-values.yaml"])
    assert production.one("PodDisruptionBudget", f"{PREFIX}-customer-worker")["spec"]["minAvailable"] == 1
    api = production.one("PodDisruptionBudget", f"{PREFIX}-gateway-api")["spec"]
    assert api["minAvailable"] == "50%" and "maxUnavailable" not in api


def test_keda_scales_the_rating_stream_consumers_on_the_usage_queue(render, all_ci_values) -> None:
    rendered = render(all_ci_values["operators-values.yaml"])
    name = f"{PREFIX}-rating-stream"
    scaled = rendered.one("ScaledObject", name)["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    rendered.one("Deployment", name)
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "rating.usage"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (2, 30)
    auth = rendered.one("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]["secretTargetRef"]
    assert {(a["parameter"], a["name"]) for a in auth} == {
        ("username", f"{PREFIX}-rabbitmq-default-user"), ("password", f"{PREFIX}-rabbitmq-default-user")}
    assert name not in rendered.names("HorizontalPodAutoscaler"), "KEDA owns the HPA of the stream consumers"
    assert "replicas" not in rendered.one("Deployment", name)["spec"]
    container = rendered.one("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["stream"] and {"name": "HEALTH_PORT", "value": "8090"} in container["env"]
    assert f"{PREFIX}-rating-worker" not in rendered.names("ScaledObject"), "the nameko worker does not rate usage"
    assert f"{PREFIX}-billing-worker" in rendered.names("HorizontalPodAutoscaler")
    assert not render().kind("ScaledObject"), "KEDA is optional and off by default"


def test_keda_with_an_external_broker_reads_the_uri_secret(render) -> None:
    rendered = render({"services": {"rating": {"stream": {"keda": {"enabled": True}}}}})
    auth = rendered.one("TriggerAuthentication", f"{PREFIX}-rating-stream")["spec"]["secretTargetRef"]
    assert auth == [{"parameter": "host", "name": "monetization-rabbitmq", "key": "uri"}]
    assert "host" not in rendered.one("ScaledObject", f"{PREFIX}-rating-stream")["spec"]["triggers"][0]["metadata"]


# ---------------------------------------------------------------- operators

def test_operators_replace_the_external_uris(render, all_ci_values) -> None:
    rendered = render(all_ci_values["operators-values.yaml"])
    mdb = rendered.one("MongoDBCommunity", f"{PREFIX}-mongodb")
    user = mdb["spec"]["users"][0]
    assert user["db"] == "admin" and user["passwordSecretRef"]["name"] == "monetization-mongodb-password"
    assert {r["db"] for r in user["roles"]} == {f"monetization_{s}" for s in SERVICES}
    rendered.one("RabbitmqCluster", f"{PREFIX}-rabbitmq")
    for _, _, container, _ in rendered.containers():
        if container["name"] == "check-gateway-ready":
            continue
        env = container["env"]
        names = [e["name"] for e in env]
        by_name = _env(container)
        assert by_name["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {
            # The Community Operator's connection-string Secret: <resource>-<auth db>-<user>.
            "name": f"{PREFIX}-mongodb-admin-monetization", "key": "connectionString.standard"}
        assert by_name["AMQP_URI"]["value"] == (
            f"amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@{PREFIX}-rabbitmq.billing.svc:5672/%2F")
        # $(VAR) references only resolve to variables defined earlier in the list.
        assert names.index("AMQP_USERNAME") < names.index("AMQP_URI")
        assert names.index("AMQP_PASSWORD") < names.index("AMQP_URI")
        assert by_name["AMQP_USERNAME"]["valueFrom"]["secretKeyRef"]["name"] == f"{PREFIX}-rabbitmq-default-user"
    assert not rendered.kind("StatefulSet")


def test_migrations_wait_for_operator_databases(render, all_ci_values) -> None:
    default_job = render().kind("Job")[0]
    assert default_job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    operator_job = render(all_ci_values["operators-values.yaml"]).kind("Job")[0]
    assert operator_job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


# ---------------------------------------------------------------- network policies

def _ports(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}


def test_network_policies_allow_only_the_needed_traffic(render) -> None:
    rendered = render()
    for deployment in rendered.kind("Deployment"):
        name = deployment["metadata"]["name"]
        policy = rendered.one("NetworkPolicy", name)["spec"]
        assert policy["policyTypes"] == ["Ingress", "Egress"]
        port = _container(deployment)["ports"][0]["containerPort"]
        ingress_ports = set().union(*(_ports(rule) for rule in policy["ingress"]))
        assert ingress_ports == {("TCP", port)}, f"{name}: ingress only on its own port"
        sources = [peer for rule in policy["ingress"] for peer in rule["from"]]
        assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in sources
        if name.endswith("-api"):
            assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in sources
        else:
            assert len(policy["ingress"]) == 1, f"{name}: workers take traffic only from Prometheus"
        egress_ports = set().union(*(_ports(rule) for rule in policy["egress"]))
        outside = OUTSIDE.get(name.removeprefix(f"{PREFIX}-").split("-")[0], set())
        assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 27017), ("TCP", 5672)} | outside, name


# What a service reaches outside the platform by default: the payment provider; SMTP, SMS and webhooks.
OUTSIDE = {"billing": {("TCP", 443)}, "notification": {("TCP", 587), ("TCP", 465), ("TCP", 443)}}


def test_only_billing_and_notification_reach_outside_and_the_cronjobs_reach_the_payment_provider(render) -> None:
    rendered = render()
    egress = {doc["metadata"]["name"]: set().union(*(_ports(r) for r in doc["spec"]["egress"]))
              for doc in rendered.kind("NetworkPolicy")}
    assert ("TCP", 443) in egress[f"{PREFIX}-billing-worker"]
    assert ("TCP", 587) in egress[f"{PREFIX}-notification-worker"]
    assert ("TCP", 443) not in egress[f"{PREFIX}-customer-worker"] | egress[f"{PREFIX}-gateway-api"]
    assert ("TCP", 443) in egress[f"{PREFIX}-cronjobs"], "the collection CronJob charges cards"
    narrowed = render({"networkPolicy": {"serviceEgress": {"billing": [
        {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]}]}}})
    rules = narrowed.one("NetworkPolicy", f"{PREFIX}-billing-worker")["spec"]["egress"]
    assert {"ipBlock": {"cidr": "203.0.113.0/24"}} in [peer for r in rules for peer in r.get("to", [])]


def test_network_policy_peers_and_collector_come_from_values(render, all_ci_values) -> None:
    production = render(all_ci_values["production-values.yaml"])
    policy = production.one("NetworkPolicy", f"{PREFIX}-rating-worker")["spec"]
    egress = {next(iter(_ports(rule)))[1]: rule for rule in policy["egress"] if len(_ports(rule)) >= 1}
    assert egress[27017]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert ("TCP", 4318) in set().union(*(_ports(rule) for rule in policy["egress"])), "OTLP egress when tracing"
    closed = render({"networkPolicy": {"ingressControllers": [], "prometheus": []}})
    api_policy = closed.one("NetworkPolicy", f"{PREFIX}-gateway-api")["spec"]
    # An empty peer list means nobody, never "everybody" (an empty `from` would allow all sources).
    assert all(rule.get("from") for rule in api_policy["ingress"])
    assert len(api_policy["ingress"]) == 1  # only the chart's own test Pod remains
    assert "ingress" not in closed.one("NetworkPolicy", f"{PREFIX}-customer-worker")["spec"]
    operators = render(all_ci_values["operators-values.yaml"])
    rules = operators.one("NetworkPolicy", f"{PREFIX}-rating-worker")["spec"]["egress"]
    to = {next(iter(_ports(r)))[1]: r.get("to") for r in rules if _ports(r)}
    assert to[27017] == [{"podSelector": {"matchLabels": {"app": f"{PREFIX}-mongodb-svc"}}}]
    assert to[5672] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": f"{PREFIX}-rabbitmq"}}}]
    assert not render({"networkPolicy": {"enabled": False}}).kind("NetworkPolicy")


def test_jobs_have_network_policies_too(render) -> None:
    rendered = render()
    cron = rendered.one("NetworkPolicy", f"{PREFIX}-cronjobs")["spec"]
    assert cron["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "cronjob"
    for cronjob in rendered.kind("CronJob"):
        labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        assert cron["podSelector"]["matchLabels"].items() <= labels.items()
    migrate = rendered.one("NetworkPolicy", f"{PREFIX}-migrate")
    job = rendered.one("Job", f"{PREFIX}-migrate")
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    assert migrate["spec"]["podSelector"]["matchLabels"].items() <= job_labels.items()
    # The hook's policy exists before the hook Job runs (lower weight, same events).
    assert migrate["metadata"]["annotations"]["helm.sh/hook"] == job["metadata"]["annotations"]["helm.sh/hook"]
    assert int(migrate["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"])


# ---------------------------------------------------------------- ingress, services, metrics

def test_ingress_routes_to_the_api_services(render, all_ci_values) -> None:
    assert not render().kind("Ingress"), "Ingress is opt-in: hosts are site-specific"
    rendered = render(all_ci_values["production-values.yaml"])
    hosts = {}
    for ingress in rendered.kind("Ingress"):
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "nginx"
        assert spec["tls"], "production values terminate TLS"
        for rule in spec["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = rendered.one("Service", backend["name"])
                assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
                hosts[rule["host"]] = backend["name"]
    assert hosts == {"console.billing.example.com": f"{PREFIX}-gateway-api",
                     "my.billing.example.com": f"{PREFIX}-selfcare-api"}


def test_services_target_declared_container_ports(ci_rendered) -> None:
    for service in ci_rendered.kind("Service"):
        deployment = ci_rendered.one("Deployment", service["metadata"]["name"])
        names = {p["name"] for p in _container(deployment)["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names


def test_prometheus_wiring(render, all_ci_values) -> None:
    annotations = _deployment_of(render(), "billing", "worker")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8090"
    assert not render().kind("ServiceMonitor")
    production = render(all_ci_values["production-values.yaml"])
    monitors = production.kind("ServiceMonitor")
    assert len(monitors) == DEPLOYMENTS  # every Deployment, the rating stream consumer included
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        service = production.one("Service", monitor["metadata"]["name"])
        assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_opentelemetry_wiring(render, all_ci_values) -> None:
    rendered = render(all_ci_values["production-values.yaml"])
    for service in SERVICES:
        data = rendered.one("ConfigMap", f"{PREFIX}-{service}")["data"]
        assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability.svc:4318"
        assert data["OTEL_SERVICE_NAME"] == service
        assert data["OTEL_TRACES_SAMPLER_ARG"] == "0.2"
        attributes = _env(_container(_deployment_of(rendered, service, "worker")))["OTEL_RESOURCE_ATTRIBUTES"]["value"]
        assert "deployment.environment=production" in attributes
        assert "k8s.pod.name=$(POD_NAME)" in attributes


# ---------------------------------------------------------------- cron jobs, migrations, tests

def test_cron_jobs_are_one_entry_each(render, all_ci_values) -> None:
    by_name = {c["metadata"]["name"]: c for c in render().kind("CronJob")}
    purge = by_name[f"{PREFIX}-purge-closed-accounts"]
    # The bill run, payment collection and SEPA export are on by default and run the billing service's real jobs.
    usage = subprocess.run([sys.executable, "-m", "billing"], capture_output=True, text=True).stderr
    for job in ("bill-run", "collect-payments", "sepa-export"):
        container = by_name[f"{PREFIX}-{job}"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] + container["args"] == ["python", "-m", "billing", job]
        assert job in usage, f"python -m billing has no {job} command: {usage}"
    # SEPA creditor settings come from values (ConfigMap) and a Secret.
    billing_config = render().one("ConfigMap", f"{PREFIX}-billing")["data"]
    assert billing_config["BILLING_SEPA_PAIN008_VERSION"] == "pain.008.001.08"
    sepa_env = _env(by_name[f"{PREFIX}-sepa-export"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                    ["containers"][0])
    assert sepa_env["BILLING_SEPA_CREDITOR_IBAN"]["valueFrom"]["secretKeyRef"] == {
        "name": "monetization-sepa-creditor", "key": "iban"}
    assert purge["metadata"]["name"] == f"{PREFIX}-purge-closed-accounts"
    pod = purge["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] + container["args"] == ["python", "-m", "customer", "purge-closed-accounts"]
    assert container["image"] == "monetization/customer:0.1.0"
    assert pod["serviceAccountName"] == f"{PREFIX}-customer"
    assert purge["spec"]["concurrencyPolicy"] == "Forbid" and purge["spec"]["timeZone"] == "Etc/UTC"
    production = {c["metadata"]["name"]: c for c in render(all_ci_values["production-values.yaml"]).kind("CronJob")}
    commands = {name: c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
                for name, c in production.items()}
    assert commands == {
        f"{PREFIX}-purge-closed-accounts": ["purge-closed-accounts"],
        f"{PREFIX}-bill-run": ["bill-run"],
        f"{PREFIX}-collect-payments": ["collect-payments"],
        f"{PREFIX}-sepa-export": ["sepa-export"],
    }
    bill_run = production[f"{PREFIX}-bill-run"]["spec"]
    assert bill_run["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 14400
    assert bill_run["timeZone"] == "Europe/Berlin"
    # A new job is one entry (scheduled unless enabled: false).
    extra = render({"cronJobs": {"dunning": {"service": "billing", "args": ["dunning"], "schedule": "0 9 * * *"}}})
    assert f"{PREFIX}-dunning" in extra.names("CronJob")


def test_migration_hook_runs_every_service_in_order(render) -> None:
    rendered = render()
    (job,) = rendered.kind("Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    pod = job["spec"]["template"]["spec"]
    steps = pod["initContainers"] + pod["containers"]
    assert [c["name"] for c in steps] == [f"migrate-{s}" for s in SERVICES]
    for step, service in zip(steps, SERVICES, strict=True):
        assert step["command"] + step["args"] == ["python", "-m", service, "migrate"]
        assert step["image"] == f"monetization/{service}:0.1.0"
        env = _env(step)
        # The ConfigMaps do not exist yet before install: the configuration is inline.
        assert "envFrom" not in step
        assert env["SERVICE_NAME"]["value"] == service and env["HTTP_HOST"]["value"] == "0.0.0.0"
    account = rendered.one("ServiceAccount", pod["serviceAccountName"])
    assert int(account["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    reordered = render({"migrations": {"order": ["gateway", "customer"]}}).kind("Job")[0]["spec"]["template"]["spec"]
    names = [c["name"] for c in reordered["initContainers"] + reordered["containers"]]
    assert names[:2] == ["migrate-gateway", "migrate-customer"] and len(names) == 7
    assert not render({"migrations": {"enabled": False}}).kind("Job")


def test_helm_test_checks_the_gateway_readiness(render) -> None:
    rendered = render()
    (pod,) = rendered.kind("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    url = _env(pod["spec"]["containers"][0])["READY_URL"]["value"]
    assert url == f"http://{PREFIX}-gateway-api:8080/health/ready"
    rendered.one("Service", f"{PREFIX}-gateway-api")
    # The gateway API's NetworkPolicy admits the test Pod.
    sources = [p for r in rendered.one("NetworkPolicy", f"{PREFIX}-gateway-api")["spec"]["ingress"] for p in r["from"]]
    test_selector = {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "monetization",
                                                     "app.kubernetes.io/component": "test"}}}
    assert test_selector in sources
    assert test_selector["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert not render({"services": {"gateway": {"api": {"enabled": False}}}}).kind("Pod")


def test_notes_tell_how_to_reach_the_console_and_check_health(render, all_ci_values) -> None:
    notes = render().notes
    assert f"port-forward svc/{PREFIX}-gateway-api 8080:8080" in notes
    assert "helm test monetization" in notes
    assert "/health/ready" in notes
    assert "monetization-mongodb (key uri: MONGODB_URI)" in notes
    production = render(all_ci_values["production-values.yaml"]).notes
    assert "https://console.billing.example.com/" in production
    assert "https://my.billing.example.com/" in production
