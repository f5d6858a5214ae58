"""The catalog over RPC (the `Catalog` port of service_layer/catalog.py)."""
from __future__ import annotations

from typing import Any

from chassis.nameko_adapter import RpcClient
from chassis.versions import ExpiringCache

# A resource's kind and currency cannot change (docs/catalog.md), and they are all billing reads of it:
# kept for a minute, a billing profile's create asks the catalog once a minute instead of every time.
_RESOURCES = ExpiringCache(ttl=60)


class RpcCatalog:
    def __init__(self, rpc: RpcClient, resources: ExpiringCache = _RESOURCES):
        self.rpc, self.resources = rpc, resources

    def get_resource(self, code: str) -> dict[str, Any]:
        return dict(self.resources.get(code, lambda: self.rpc.call("catalog", "get_resource", code)))

    def get_tax(self, code: str) -> dict[str, Any]:
        return dict(self.rpc.call("catalog", "get_entry", "tax", code))
