"""docs/operations.md covers what an SRE needs, and the value keys it names exist in the chart."""
from __future__ import annotations

import json
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = (REPO_ROOT / "docs" / "operations.md").read_text()
SCHEMA = json.loads((REPO_ROOT / "deploy/helm/monetization/values.schema.json").read_text())


def test_guide_covers_every_operation() -> None:
    headings = " ".join(line.lower() for line in GUIDE.splitlines() if line.startswith("#"))
    for topic in ("install", "upgrade", "roll back", "scale", "back up", "restore", "rotate secrets",
                  "traces", "metrics", "health", "scheduled jobs", "network policies", "uninstall"):
        assert topic in headings, topic
    for command in ("helm install", "helm upgrade", "helm rollback", "helm test", "mongodump",
                    "mongorestore", "rollout restart", "port-forward"):
        assert command in GUIDE, command


def _resolves(path: list[str], schema: dict, root: dict) -> bool:
    if not path:
        return True
    if "$ref" in schema:
        return _resolves(path, root["definitions"][schema["$ref"].rsplit("/", 1)[1]], root)
    if "allOf" in schema:
        return any(_resolves(path, branch, root) for branch in schema["allOf"])
    head, rest = path[0], path[1:]
    if head in schema.get("properties", {}):
        return _resolves(rest, schema["properties"][head], root)
    if head.startswith("<") or any(re.match(p, head) for p in schema.get("patternProperties", {})):
        subs = list(schema.get("properties", {}).values()) + list(schema.get("patternProperties", {}).values())
        return any(_resolves(rest, sub, root) for sub in subs)
    if isinstance(schema.get("additionalProperties"), dict):  # a map whose keys are the user's (e.g. a service)
        return _resolves(rest, schema["additionalProperties"], root)
    return False


def test_value_keys_named_in_the_guide_exist() -> None:
    top = set(SCHEMA["properties"])
    named = set()
    for token in re.findall(r"`([^`\s]+)`", GUIDE):
        token = token.split(":")[0].split("=")[0]
        parts = token.split(".")
        if len(parts) > 1 and parts[0] in top and all(re.fullmatch(r"[A-Za-z0-9_<>|-]+", p) for p in parts):
            named.add(token)
    assert len(named) > 25
    missing = []
    for token in sorted(named):
        alternatives = [token.replace("worker|api", alt) for alt in ("worker", "api")] if "|" in token else [token]
        if not any(_resolves(alt.split("."), SCHEMA, SCHEMA) for alt in alternatives):
            missing.append(token)
    assert missing == []
    assert not _resolves("services.rating.worker.keda.enable".split("."), SCHEMA, SCHEMA)  # the check can fail


def test_decisions_referenced_by_the_guide_exist() -> None:
    decisions = sorted(p.name for p in (REPO_ROOT / "docs" / "decisions").glob("01*.md"))
    assert [d[:4] for d in decisions] == [f"{n:04d}" for n in range(101, 109)]
