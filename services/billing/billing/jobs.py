"""`python -m billing bill-run`: the scheduled bill run (the chart's CronJob runs it daily)."""
from __future__ import annotations

import json
from typing import Any

from billing.adapters.catalog import RpcCatalog
from billing.service_layer.bill_run import scheduled_bill_run
from chassis.nameko_adapter import RpcClient


def bill_run(settings: Any) -> None:
    rpc = RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)
    try:
        print(json.dumps(scheduled_bill_run(RpcCatalog(rpc))))
    finally:
        rpc.close()
