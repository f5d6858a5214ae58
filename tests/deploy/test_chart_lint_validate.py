"""`helm lint --strict` and strict Kubernetes schema validation of every rendered manifest.

Core kinds are validated with kubernetes-validate (strict: unknown fields are errors) against
several Kubernetes minor versions. kubernetes-validate knows no CRDs, so the operators' objects
(MongoDBCommunity, RabbitmqCluster, ScaledObject, TriggerAuthentication, ServiceMonitor) are checked
structurally against the required fields of their CRDs in a separate test.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest

CHART_DIR = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "monetization"
# Minor versions covered: the chart's minimum (kubeVersion >=1.28) up to recent ones.
KUBE_VERSIONS = ["1.28.0", "1.31.0", "1.33.0", "1.35.0"]
CRD_KINDS = {"MongoDBCommunity", "RabbitmqCluster", "ScaledObject", "TriggerAuthentication", "ServiceMonitor"}
WARNING = 2


def _problems(report: dict[str, Any]) -> list[str]:
    """Lint findings of severity warning or error (strict lint fails on both)."""
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= WARNING] + report["errors"]


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_lint_strict_has_no_findings(ci_file: Path, ci_values: dict[str, Any], kube_version: str) -> None:
    report = helm.lint(CHART_DIR, ci_values, strict=True, namespace="billing", kube_version=f"v{kube_version}")
    assert report["total_charts_linted"] == 1
    assert _problems(report) == []


def test_lint_strict_reports_a_broken_values_file() -> None:
    # Proves the lint test above can fail: a value of the wrong type is an error.
    report = helm.lint(CHART_DIR, {"defaults": {"worker": {"replicas": "three"}}}, strict=True)
    assert any("replicas" in problem for problem in _problems(report)), report


def test_kubernetes_validate_ships_the_versions_we_test() -> None:
    shipped = {v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions()}
    assert {v.rsplit(".", 1)[0] for v in KUBE_VERSIONS} <= shipped


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_core_manifest_is_valid_kubernetes(ci_rendered, kube_version: str) -> None:
    core = [d for d in ci_rendered.docs if d["kind"] not in CRD_KINDS]
    assert len(core) > 40
    errors = []
    for doc in core:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
    assert errors == []


def test_strict_validation_catches_an_unknown_field(render) -> None:
    # Proves the validation above can fail: strict mode rejects a misspelt field.
    deployment = next(d for d in render().docs if d["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSIONS[0], strict=True)


def test_every_object_is_named_namespaced_and_unique(ci_rendered) -> None:
    seen = set()
    for doc in ci_rendered.docs:
        meta = doc["metadata"]
        assert meta["namespace"] == "billing", meta["name"]
        assert len(meta["name"]) <= 63, meta["name"]
        key = (doc["apiVersion"], doc["kind"], meta["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)


# Required structure of the custom resources, taken from the operators' CRDs (structural check only).
_NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_META = {"type": "object", "required": ["name", "namespace", "labels"], "properties": {"name": _NAME}}
CRD_SCHEMAS: dict[str, dict[str, Any]] = {
    "MongoDBCommunity": {
        "properties": {
            "apiVersion": {"const": "mongodbcommunity.mongodb.com/v1"},
            "spec": {
                "type": "object",
                "required": ["type", "version", "security", "users", "members"],
                "properties": {
                    "type": {"const": "ReplicaSet"},
                    "members": {"type": "integer", "minimum": 1},
                    "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                    "security": {"type": "object", "required": ["authentication"], "properties": {
                        "authentication": {"type": "object", "required": ["modes"], "properties": {
                            "modes": {"type": "array", "minItems": 1,
                                      "items": {"enum": ["SCRAM", "SCRAM-SHA-256", "SCRAM-SHA-1"]}}}}}},
                    "users": {"type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["name", "db", "passwordSecretRef", "roles", "scramCredentialsSecretName"],
                        "properties": {
                            "passwordSecretRef": {"type": "object", "required": ["name"]},
                            "roles": {"type": "array", "minItems": 1,
                                      "items": {"type": "object", "required": ["name", "db"]}},
                            "scramCredentialsSecretName": _NAME,
                        }}},
                    "statefulSet": {"type": "object", "required": ["spec"]},
                },
            },
        },
    },
    "RabbitmqCluster": {
        "properties": {
            "apiVersion": {"const": "rabbitmq.com/v1beta1"},
            "spec": {"type": "object", "required": ["replicas"], "properties": {
                "replicas": {"type": "integer", "minimum": 1},
                "persistence": {"type": "object", "required": ["storage"]},
                "resources": {"type": "object", "required": ["requests", "limits"]},
                "rabbitmq": {"type": "object", "properties": {
                    "additionalConfig": {"type": "string"},
                    "additionalPlugins": {"type": "array", "items": {"type": "string"}}},
                    "additionalProperties": False},
            }},
        },
    },
    "ScaledObject": {
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "spec": {"type": "object", "required": ["scaleTargetRef", "triggers"], "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"]},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "triggers": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["type", "metadata"],
                    "properties": {"metadata": {"type": "object",
                                                "additionalProperties": {"type": "string"}}}}},
            }},
        },
    },
    "TriggerAuthentication": {
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "spec": {"type": "object", "required": ["secretTargetRef"], "properties": {
                "secretTargetRef": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["parameter", "name", "key"]}}}},
        },
    },
    "ServiceMonitor": {
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "spec": {"type": "object", "required": ["selector", "endpoints"], "properties": {
                "endpoints": {"type": "array", "minItems": 1,
                              "items": {"type": "object", "required": ["port", "path"]}}}},
        },
    },
}


def test_custom_resources_are_structurally_valid(ci_rendered) -> None:
    for doc in ci_rendered.docs:
        if doc["kind"] not in CRD_KINDS:
            continue
        schema = {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                  "properties": {"metadata": _META}}
        schema["properties"].update(CRD_SCHEMAS[doc["kind"]]["properties"])
        jsonschema.validate(doc, schema)


def test_operator_values_render_every_custom_resource_kind(render, all_ci_values) -> None:
    kinds = {d["kind"] for d in render(all_ci_values["operators-values.yaml"]).docs}
    assert CRD_KINDS <= kinds


def test_crd_check_rejects_a_resource_without_users(render, all_ci_values) -> None:
    # Proves the structural check can fail.
    mdb = render(all_ci_values["operators-values.yaml"]).kind("MongoDBCommunity")[0]
    broken = {**mdb, "spec": {k: v for k, v in mdb["spec"].items() if k != "users"}}
    schema = {"type": "object", "properties": CRD_SCHEMAS["MongoDBCommunity"]["properties"]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
