"""Validity periods (validFrom .. validTo, open-ended when validTo is absent), shared by every service."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chassis.errors import ValidationFailed


def check_validity(valid_from: datetime, valid_to: datetime | None, prefix: str = "") -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise ValidationFailed("validity period ends before it starts", {f"{prefix}validTo": "must be after validFrom"})


def start_period(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Loaded input with `valid_from` (default: now) and `valid_to`: defaulted and checked, in place."""
    data["valid_from"] = data.get("valid_from") or datetime.now(UTC)
    check_validity(data["valid_from"], data.get("valid_to"), prefix)
    return data
