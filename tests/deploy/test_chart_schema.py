"""values.schema.json: it accepts the shipped values, rejects bad ones (checked by Helm itself, as
`helm install` would), describes every key of values.yaml, and values.yaml documents every key."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import pytest

CHART_DIR = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "monetization"
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())


def _reject(chart: helm.Chart, values: dict[str, Any]) -> str:
    """Helm's verdict on user values, as `helm install -f` computes it: the SDK coalesces them with the
    chart's defaults (a null deletes a default) and validates the result; rendering refuses them too."""
    with pytest.raises(helm.HelmValuesError) as schema_error:
        chart.validate_schema(values)
    with pytest.raises(helm.HelmValuesError):
        chart.render(values, name="monetization", namespace="billing")
    return str(schema_error.value)


def test_schema_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["additionalProperties"] is False


def test_shipped_values_pass_the_schema(chart, all_ci_values) -> None:
    chart.validate_schema({})
    for values in all_ci_values.values():
        chart.validate_schema(values)


# (id, user values, text expected in Helm's message)
BAD_VALUES = [
    ("latest-tag", {"image": {"tag": "latest"}}, "/image/tag"),
    ("latest-tag-of-one-service", {"services": {"rating": {"image": {"tag": "latest"}}}}, "/services/rating/image/tag"),
    ("tag-with-a-space", {"image": {"tag": "1.0 beta"}}, "/image/tag"),
    ("malformed-digest", {"image": {"digest": "sha256:xyz"}}, "/image/digest"),
    ("runs-as-root", {"podSecurityContext": {"runAsNonRoot": False}}, "/podSecurityContext/runAsNonRoot"),
    ("uid-0", {"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser"),
    ("writable-root-fs", {"containerSecurityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
    ("privilege-escalation", {"containerSecurityContext": {"allowPrivilegeEscalation": True}},
     "allowPrivilegeEscalation"),
    ("capabilities-kept", {"containerSecurityContext": {"capabilities": {"drop": ["NET_RAW"]}}}, "capabilities/drop"),
    ("typo-at-top-level", {"replicaCount": 3}, "replicaCount"),
    ("unknown-service", {"services": {"invoicing": {"enabled": True}}}, "invoicing"),
    ("api-on-a-worker-only-service", {"services": {"customer": {"api": {"enabled": True}}}}, "/services/customer"),
    ("replicas-as-text", {"defaults": {"worker": {"replicas": "two"}}}, "/defaults/worker/replicas"),
    ("negative-replicas", {"services": {"billing": {"worker": {"replicas": -1}}}}, "/services/billing/worker/replicas"),
    ("no-limits-in-defaults", {"defaults": {"api": {"resources": {"limits": None}}}}, "/defaults/api"),
    ("bad-cpu-quantity", {"defaults": {"worker": {"resources": {"requests": {"cpu": "lots"}}}}}, "cpu"),
    ("bad-log-level", {"config": {"logLevel": "LOUD"}}, "/config/logLevel"),
    ("otel-without-endpoint", {"otel": {"enabled": True}}, "/otel/endpoint"),
    ("otel-endpoint-not-a-url", {"otel": {"enabled": True, "endpoint": "collector:4318"}}, "/otel/endpoint"),
    ("keda-without-queues", {"services": {"catalog": {"worker": {"keda": {"enabled": True}}}}}, "queues"),
    ("ingress-without-hosts", {"services": {"gateway": {"api": {"ingress": {"enabled": True}}}}}, "hosts"),
    ("ingress-bad-path-type", {"services": {"gateway": {"api": {"ingress": {"enabled": True, "hosts": [
        {"host": "console.example.com", "paths": [{"path": "/", "pathType": "Anything"}]}]}}}}}, "pathType"),
    ("cron-job-without-schedule", {"cronJobs": {"nightly": {"service": "billing", "args": ["bill-run"]}}}, "schedule"),
    ("cron-job-bad-schedule", {"cronJobs": {"purge-closed-accounts": {"schedule": "daily"}}}, "schedule"),
    ("cron-job-of-unknown-service",
     {"cronJobs": {"x": {"service": "ledger", "args": ["a"], "schedule": "@daily"}}}, "service"),
    ("cron-job-bad-name",
     {"cronJobs": {"Bill_Run": {"service": "billing", "args": ["a"], "schedule": "@daily"}}}, "Bill_Run"),
    ("lowercase-secret-env",
     {"services": {"gateway": {"secretEnv": {"admin_pw": {"secretName": "s", "key": "k"}}}}}, "admin_pw"),
    ("secret-env-without-key", {"services": {"gateway": {"secretEnv": {"X_TOKEN": {"secretName": "s"}}}}}, "key"),
    ("no-mongodb-secret", {"mongodb": {"existingSecret": ""}}, "/mongodb/existingSecret"),
    ("rabbitmq-image-latest", {"rabbitmq": {"operator": {"image": "rabbitmq:latest"}}}, "/rabbitmq/operator/image"),
    ("pdb-bad-percentage", {"defaults": {"worker": {"pdb": {"minAvailable": "half"}}}}, "minAvailable"),
    ("unknown-migration-service", {"migrations": {"order": ["customer", "ledger"]}}, "/migrations/order"),
    ("empty-dns-peers", {"networkPolicy": {"dns": []}}, "/networkPolicy/dns"),
]


@pytest.mark.parametrize("values,expected", [pytest.param(v, e, id=i) for i, v, e in BAD_VALUES])
def test_schema_rejects_bad_values(chart, values: dict[str, Any], expected: str) -> None:
    message = _reject(chart, values)
    assert expected in message, message


GOOD_VALUES = [
    ("pinned-tag", {"image": {"tag": "1.4.2"}}),
    ("digest", {"image": {"digest": "sha256:" + "a" * 64}}),
    ("percentage-pdb", {"defaults": {"worker": {"pdb": {"minAvailable": "50%"}}}}),
    ("partial-resource-override", {"services": {"rating": {"worker": {"resources": {"limits": {"memory": "2Gi"}}}}}}),
    ("otel-with-endpoint", {"otel": {"enabled": True, "endpoint": "http://otel-collector.observability.svc:4318"}}),
    ("operators-without-existing-secrets", {"mongodb": {"existingSecret": "", "operator": {"enabled": True}},
                                            "rabbitmq": {"existingSecret": "", "operator": {"enabled": True}}}),
    ("new-cron-job",
     {"cronJobs": {"nightly-report": {"service": "billing", "args": ["report"], "schedule": "@daily"}}}),
]


@pytest.mark.parametrize("values", [pytest.param(v, id=i) for i, v in GOOD_VALUES])
def test_schema_accepts_good_variations(chart, values: dict[str, Any]) -> None:
    # The counterpart of the rejections: the schema is strict, not closed to legitimate settings.
    chart.validate_schema(values)
    chart.render(values, name="monetization", namespace="billing")


def _described(schema: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, list[Any]], list[str]]:
    """Named properties (each with every sub-schema describing it) and key patterns of a schema,
    through $ref and allOf."""
    if "$ref" in schema:
        return _described(root["definitions"][schema["$ref"].rsplit("/", 1)[1]], root)
    props: dict[str, list[Any]] = {k: [v] for k, v in schema.get("properties", {}).items()}
    patterns = list(schema.get("patternProperties", {}))
    for branch in schema.get("allOf", []):
        branch_props, branch_patterns = _described(branch, root)
        for key, subs in branch_props.items():
            props.setdefault(key, []).extend(subs)
        patterns += branch_patterns
    return props, patterns


def _walk_schema(schemas: list[dict[str, Any]], value: Any, path: str, root: dict[str, Any]) -> list[str]:
    """Keys of `value` that no schema describes by name or pattern (free-form maps are not entered)."""
    if not isinstance(value, dict):
        return []
    props: dict[str, list[Any]] = {}
    patterns: list[str] = []
    for schema in schemas:
        p, pats = _described(schema, root)
        for key, subs in p.items():
            props.setdefault(key, []).extend(subs)
        patterns += pats
    if not props and not patterns:
        return []  # a free-form object (annotations, nodeSelector, ...)
    missing = []
    for key, sub in value.items():
        if key in props:
            missing += _walk_schema(props[key], sub, f"{path}.{key}", root)
        elif not any(re.match(p, key) for p in patterns):
            missing.append(f"{path}.{key}")
    return missing


def test_schema_describes_every_key_of_values_yaml(default_values) -> None:
    assert _walk_schema([SCHEMA], default_values, "", SCHEMA) == []


def test_schema_walk_catches_an_undescribed_key(default_values) -> None:
    # Proves the test above can fail.
    assert _walk_schema([SCHEMA], {"defaults": {"worker": {"replica": 1}}}, "", SCHEMA) == [".defaults.worker.replica"]


def _undocumented(lines: list[str]) -> tuple[int, list[str]]:
    """(keys checked, keys without a comment on the line above or at the end of their line).
    Elements of list values are documented with the list's key and are not checked."""
    key = re.compile(r"^(\s*)(- )?([A-Za-z0-9_.\-/]+|\"[^\"]+\"):(\s|$)")
    checked, undocumented = 0, []
    for number, line in enumerate(lines):
        match = key.match(line)
        if not match or match[2] or _inside_list(lines, number):
            continue
        checked += 1
        previous = next((p for p in reversed(lines[:number]) if p.strip()), "")
        if not (previous.strip().startswith("#") or " # " in line):
            undocumented.append(f"values.yaml:{number + 1}: {line.strip()}")
    return checked, undocumented


def test_every_key_of_values_yaml_is_documented() -> None:
    checked, undocumented = _undocumented((CHART_DIR / "values.yaml").read_text().splitlines())
    assert undocumented == []
    assert checked > 250


def test_documentation_check_catches_a_bare_key() -> None:
    # Proves the test above can fail.
    lines = ["# The image.", "image:", "  # Its tag.", "  tag: 1", "  pullPolicy: Always", "peers:",
             "  - namespaceSelector: {}", "    podSelector: {}"]
    assert _undocumented(lines) == (4, ["values.yaml:5: pullPolicy: Always", "values.yaml:6: peers:"])


def _inside_list(lines: list[str], number: int) -> bool:
    """Whether the key on line `number` belongs to a list item (an ancestor line starts with "- ")."""
    indent = len(lines[number]) - len(lines[number].lstrip())
    for previous in reversed(lines[:number]):
        if not previous.strip() or previous.lstrip().startswith("#"):
            continue
        prev_indent = len(previous) - len(previous.lstrip())
        if prev_indent < indent or (previous.lstrip().startswith("- ") and prev_indent <= indent):
            if previous.lstrip().startswith("- "):
                return True
            indent = prev_indent
            if indent == 0:
                return False
    return False
