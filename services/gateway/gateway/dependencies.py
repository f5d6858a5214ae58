"""What the API handlers use, set once by the composition root (entrypoints/api.py)."""
from __future__ import annotations

from chassis.nameko_adapter import RpcClient

rpc: RpcClient
