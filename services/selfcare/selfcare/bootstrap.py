"""Composition root of the self-care processes: the one place that builds what the portal's HTTP
process and the worker run on — the accounts port over RPC, the session and lockout policies and the
link settings, all from the service's settings (`SELFCARE_*`)."""
from __future__ import annotations

from chassis.nameko_adapter import RpcClient
from chassis.settings import Settings
from selfcare.adapters.accounts import Accounts
from selfcare.domain.lockout import LoginLimits
from selfcare.domain.tokens import SessionPolicy
from selfcare.entrypoints.web import Portal
from selfcare.service_layer.users import LinkSettings


def portal(settings: Settings) -> Portal:
    limit = settings.service_setting
    return Portal(accounts=Accounts(RpcClient(settings.amqp_uri, timeout=settings.rpc_timeout)),
                  policy=SessionPolicy(key=limit("SESSION_SECRET", "")),
                  limits=LoginLimits(per_account=int(limit("LOGIN_PER_ACCOUNT", "20")),
                                     per_address=int(limit("LOGIN_PER_ADDRESS", "50"))))


def link_settings(settings: Settings) -> LinkSettings:
    return LinkSettings.from_settings(settings)
