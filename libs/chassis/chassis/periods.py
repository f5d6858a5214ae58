"""Validity periods (validFrom .. validTo, open-ended when validTo is absent), shared by every service."""
from __future__ import annotations

from datetime import datetime

from chassis.errors import ValidationFailed


def check_validity(valid_from: datetime, valid_to: datetime | None, prefix: str = "") -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise ValidationFailed("validity period ends before it starts", {f"{prefix}validTo": "must be after validFrom"})
