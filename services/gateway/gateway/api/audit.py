"""/api/v1/audit: the operators' changes, newest first."""
from __future__ import annotations

from typing import Any

from chassis.http import json_response
from gateway.service_layer import audit


def list_entries(offset: int = 0, limit: int = 50, actor: str | None = None, target: str | None = None,
                 customer: int | None = None, order: str = "newest") -> tuple[Any, int, dict[str, str]]:
    entries, total = audit.list_entries({"actor": actor, "target": target, "customer_id": customer}, offset, limit,
                                        oldest_first=order == "oldest")
    return json_response(entries, 200, {"X-Total-Count": str(total), "X-Result-Count": str(len(entries))})
