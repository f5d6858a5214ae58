"""Policy: every container of every rendered workload (Deployments, CronJobs, the migration hook
Job and its init containers, the `helm test` Pod) is hardened, bounded and pinned.

Long-running containers must have liveness and readiness probes on the health endpoints.
Run-to-completion containers (migrate, cron jobs, the test) serve no HTTP endpoint, so an HTTP probe
would kill them: instead their Job/Pod must carry activeDeadlineSeconds (see
docs/decisions/0105-probes-on-run-to-completion-pods.md).
"""
from __future__ import annotations

import re
from typing import Any

import pytest

LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
PINNED_IMAGE = re.compile(
    r"^[^\s:@]+(?::[0-9]+)?(?:/[^\s:@]+)*"  # [registry[:port]/]repository
    r":(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"  # a tag is required
    r"(?:@sha256:[a-f0-9]{64})?$"  # optional digest
)


def _all_values(all_ci_values, merge) -> list[tuple[str, dict[str, Any]]]:
    """Each ci file, plus production and operators combined (every optional object at once)."""
    combined = merge(all_ci_values["production-values.yaml"], all_ci_values["operators-values.yaml"])
    return [*all_ci_values.items(), ("production+operators", combined)]


@pytest.fixture(scope="module")
def everything(render, all_ci_values, merge):
    return [(name, render(values)) for name, values in _all_values(all_ci_values, merge)]


def _effective(pod: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    """A security setting as Kubernetes applies it: the container's wins over the pod's."""
    return container.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


def _containers(everything):
    for name, rendered in everything:
        for doc, pod, container, is_init in rendered.containers():
            yield f"{name}: {doc['kind']}/{doc['metadata']['name']}/{container['name']}", doc, pod, container, is_init


def test_the_policy_sees_every_kind_of_workload(everything) -> None:
    kinds = {doc["kind"] for _, doc, _, _, _ in _containers(everything)}
    assert kinds == {"Deployment", "CronJob", "Job", "Pod"}
    inits = [label for label, _, _, _, is_init in _containers(everything) if is_init]
    assert inits, "the migration Job's init containers must be covered"


def test_every_container_runs_as_non_root(everything) -> None:
    for label, _, pod, container, _ in _containers(everything):
        assert _effective(pod, container, "runAsNonRoot") is True, label
        uid = _effective(pod, container, "runAsUser")
        assert uid is None or uid > 0, label


def test_every_container_has_a_read_only_root_filesystem(everything) -> None:
    for label, _, _pod, container, _ in _containers(everything):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, label
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{label}: a writable /tmp is needed with a read-only root"


def test_every_container_drops_privileges(everything) -> None:
    for label, _, pod, container, _ in _containers(everything):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False, label
        assert ctx.get("privileged", False) is False, label
        assert "ALL" in ctx["capabilities"]["drop"], label
        assert not ctx["capabilities"].get("add"), label
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", label
        assert pod["automountServiceAccountToken"] is False, label


def test_every_container_has_requests_and_limits(everything) -> None:
    for label, _, _, container, _ in _containers(everything):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[bound]), f"{label}: {bound}"


def test_every_image_is_pinned(everything) -> None:
    for label, _, _, container, _ in _containers(everything):
        match = PINNED_IMAGE.match(container["image"])
        assert match, f"{label}: {container['image']}"
        assert match["tag"].lower() != "latest", label
    for name, rendered in everything:
        assert ":latest" not in rendered.text, name


def test_long_running_containers_probe_the_health_endpoints(everything) -> None:
    checked = 0
    for label, doc, _, container, is_init in _containers(everything):
        if doc["kind"] not in LONG_RUNNING:
            continue
        assert not is_init, label
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"),
                            ("startupProbe", "/health/live")):
            http = container[probe]["httpGet"]
            assert http["path"] == path, f"{label}: {probe}"
            assert http["port"] in ports, f"{label}: {probe} port {http['port']} is not a container port"
        env = {e["name"]: e.get("value") for e in container["env"]}
        port_var = "HTTP_PORT" if container["name"] == "api" else "HEALTH_PORT"  # workers and streams
        assert env[port_var] == str(ports[container["livenessProbe"]["httpGet"]["port"]]), label
        checked += 1
    assert checked >= 9 * 4  # 7 workers + 2 APIs in each of the four renders


def test_run_to_completion_pods_are_bounded_instead_of_probed(everything) -> None:
    for label, doc, pod, container, _ in _containers(everything):
        if doc["kind"] in LONG_RUNNING:
            continue
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert probe not in container, f"{label}: no HTTP endpoint to probe in a one-shot process"
        if doc["kind"] == "CronJob":
            deadline = doc["spec"]["jobTemplate"]["spec"].get("activeDeadlineSeconds")
        elif doc["kind"] == "Job":
            deadline = doc["spec"].get("activeDeadlineSeconds")
        else:
            deadline = pod.get("activeDeadlineSeconds")
        assert isinstance(deadline, int) and deadline > 0, f"{label}: activeDeadlineSeconds"
        assert pod["restartPolicy"] == "Never", label


def test_the_policy_catches_an_unpinned_image() -> None:
    # Proves the image test can fail.
    assert not PINNED_IMAGE.match("monetization/customer")
    assert PINNED_IMAGE.match("monetization/customer:latest")["tag"] == "latest"
    assert PINNED_IMAGE.match("registry.example.com:5000/monetization/customer:0.1.0")
