"""Finds the repository's `contracts/` folder and validates payloads against it.

Contracts are loaded from their one place, never copied into a service.
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema


class ContractError(ValueError):
    pass


def contracts_dir() -> Path:
    configured = os.environ.get("CONTRACTS_DIR")
    if configured:
        return Path(configured)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "contracts"
            if (candidate / "events").is_dir():
                return candidate
    raise ContractError("contracts/ not found: set CONTRACTS_DIR")


def http_spec(name: str) -> dict[str, Any]:
    """The OpenAPI document `contracts/http/<name>.yaml` merged with its fragments
    `contracts/http/<name>.d/*.yaml` (their `paths` and `components`), so each
    area of an API keeps its own file. A path or component defined twice is an error."""
    import yaml

    folder = contracts_dir() / "http"
    spec = yaml.safe_load((folder / f"{name}.yaml").read_text())
    for fragment_path in sorted((folder / f"{name}.d").glob("*.yaml")):
        fragment = yaml.safe_load(fragment_path.read_text()) or {}
        _merge_section(spec.setdefault("paths", {}), fragment.get("paths", {}), fragment_path.name, "path")
        for section, entries in (fragment.get("components") or {}).items():
            target = spec.setdefault("components", {}).setdefault(section, {})
            _merge_section(target, entries, fragment_path.name, f"components.{section}")
        for tag in fragment.get("tags", []):
            spec.setdefault("tags", []).append(tag)
    return spec


def _merge_section(target: dict[str, Any], entries: dict[str, Any], source: str, kind: str) -> None:
    for key, value in entries.items():
        if key in target:
            raise ContractError(f"{source} redefines {kind} {key!r}")
        target[key] = value


@functools.cache
def _event_validator(event_type: str, version: int) -> jsonschema.protocols.Validator:
    path = contracts_dir() / "events" / f"{event_type}.v{version}.json"
    if not path.exists():
        raise ContractError(f"no schema for event {event_type!r} (looked for {path.name})")
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_event_data(event_type: str, data: dict[str, Any], version: int = 1) -> None:
    """Raise ContractError when `data` does not match contracts/events/<type>.v<version>.json."""
    errors = sorted(_event_validator(event_type, version).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors)
        raise ContractError(f"{event_type} payload breaks its contract: {details}")
