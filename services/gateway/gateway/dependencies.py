"""What the API handlers use. Built once by the composition root (gateway.bootstrap.build_api) and installed
here before the app serves; handlers read these names, nothing else builds them."""
from __future__ import annotations

from typing import Any

from chassis.nameko_adapter import RpcClient
from chassis.versions import ExpiringCache, VersionCache
from gateway.adapters.sagas import SagaStore
from gateway.service_layer.auth import AuthConfig

rpc: RpcClient
auth: AuthConfig
# operationId -> roles allowed, from the operations' `x-roles` (absent: the default rule).
required_roles: dict[str, list[str]] = {}
sagas: SagaStore
plans: VersionCache
resources: ExpiringCache
owner: str  # this process, as the holder of the sagas it runs


def install(**built: Any) -> None:
    unknown = set(built) - set(__annotations__)
    if unknown:
        raise TypeError(f"not a gateway dependency: {sorted(unknown)}")
    globals().update(built)
