"""JSON merge-patch (RFC 7396): the one rule every `application/merge-patch+json` endpoint applies.

An object in the patch merges key by key into the target (recursively), `null` removes the key,
any other value (arrays included) replaces the target's value whole.
"""
from __future__ import annotations

from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The target with `patch` applied; neither argument is modified."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = apply_merge_patch(merged.get(key), value)
    return merged
