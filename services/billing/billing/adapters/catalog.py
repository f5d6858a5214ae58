"""The catalog over RPC (the `Catalog` port of service_layer/catalog.py)."""
from __future__ import annotations

from typing import Any

from chassis.nameko_adapter import RpcClient


class RpcCatalog:
    def __init__(self, rpc: RpcClient):
        self.rpc = rpc

    def get_resource(self, code: str) -> dict[str, Any]:
        return dict(self.rpc.call("catalog", "get_resource", code))

    def get_tax(self, code: str) -> dict[str, Any]:
        return dict(self.rpc.call("catalog", "get_entry", "tax", code))
