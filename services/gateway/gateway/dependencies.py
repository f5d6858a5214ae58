"""What the API handlers use, set once by the composition root (entrypoints/api.py)."""
from __future__ import annotations

from chassis.nameko_adapter import RpcClient
from gateway.service_layer.auth import AuthConfig

rpc: RpcClient
auth: AuthConfig
# operationId -> roles allowed, from the operations' `x-roles` (absent: the default rule).
required_roles: dict[str, list[str]] = {}
