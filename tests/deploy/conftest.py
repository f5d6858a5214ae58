"""Fixtures of the deploy tier: the Helm chart rendered with the real Helm SDK (helm-python-sdk).

Nothing here needs a cluster, MongoDB or RabbitMQ: charts are loaded, linted and rendered offline.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "deploy" / "helm" / "monetization"
CI_DIR = CHART_DIR / "ci"
RELEASE = "monetization"
NAMESPACE = "billing"

# Kinds that belong to operators' CRDs: kubernetes-validate has no schema for them.
CRD_KINDS = {"MongoDBCommunity", "RabbitmqCluster", "ScaledObject", "TriggerAuthentication", "ServiceMonitor"}
# Kinds whose pods run until stopped (probes required) and kinds whose pods run to completion.
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
RUN_TO_COMPLETION_KINDS = {"Job", "CronJob", "Pod"}


def ci_value_files() -> list[Path]:
    """The chart-testing value files (ci/*-values.yaml)."""
    return sorted(CI_DIR.glob("*-values.yaml"))


def load_values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge like `helm -f a.yaml -f b.yaml`: maps merge, everything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Rendered:
    """The manifests of one render, parsed."""

    def __init__(self, manifests: dict[str, str]):
        self.manifests = manifests
        self.notes = next((text for name, text in manifests.items() if name.endswith("NOTES.txt")), "")
        self.docs: list[dict[str, Any]] = []
        self.sources: list[str] = []
        for name, text in sorted(manifests.items()):
            if not name.endswith((".yaml", ".yml")):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    self.docs.append(doc)
                    self.sources.append(name)

    @property
    def text(self) -> str:
        return "\n".join(self.manifests.values())

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {d["metadata"]["name"] for d in self.kind(kind)}

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)} (have {sorted(self.names(kind))})"
        return found[0]

    def pod_workloads(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(object, pod spec) of every object that creates pods."""
        out = []
        for doc in self.docs:
            kind = doc["kind"]
            if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
                out.append((doc, doc["spec"]["template"]["spec"]))
            elif kind == "CronJob":
                out.append((doc, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
            elif kind == "Pod":
                out.append((doc, doc["spec"]))
        return out

    def containers(self) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], bool]]:
        """(object, pod spec, container, is_init) of every container and init container."""
        out = []
        for doc, pod in self.pod_workloads():
            for container in pod.get("initContainers", []):
                out.append((doc, pod, container, True))
            for container in pod["containers"]:
                out.append((doc, pod, container, False))
        return out


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart: helm.Chart) -> Callable[..., Rendered]:
    """render(values=None, release=..., namespace=...) -> Rendered, cached per distinct input."""
    cache: dict[str, Rendered] = {}

    def _render(values: dict[str, Any] | None = None, *, release: str = RELEASE,
                namespace: str = NAMESPACE) -> Rendered:
        key = json.dumps([values or {}, release, namespace], sort_keys=True)
        if key not in cache:
            cache[key] = Rendered(chart.render(values or {}, name=release, namespace=namespace, is_install=True))
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default_values() -> dict[str, Any]:
    return yaml.safe_load((CHART_DIR / "values.yaml").read_text())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Any test taking `ci_file` runs once per chart-testing value file.
    if "ci_file" in metafunc.fixturenames:
        files = ci_value_files()
        metafunc.parametrize("ci_file", files, ids=[f.name for f in files])


@pytest.fixture
def ci_values(ci_file: Path) -> dict[str, Any]:
    return load_values(ci_file)


@pytest.fixture
def ci_rendered(render: Callable[..., Rendered], ci_values: dict[str, Any]) -> Rendered:
    return render(ci_values)


@pytest.fixture(scope="session")
def all_ci_values() -> dict[str, dict[str, Any]]:
    """Every ci/*-values.yaml by file name."""
    files = ci_value_files()
    assert {f.name for f in files} >= {"default-values.yaml", "production-values.yaml", "operators-values.yaml"}
    return {f.name: load_values(f) for f in files}


@pytest.fixture(scope="session")
def merge() -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    """deep_merge(base, override): how Helm combines two -f value files."""
    return deep_merge
