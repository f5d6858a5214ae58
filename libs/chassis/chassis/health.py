"""Readiness checks shared by workers and HTTP processes."""
from __future__ import annotations

from typing import Any

import mongoengine
import pika


def mongo_ok(alias: str = "default") -> tuple[bool, str]:
    try:
        mongoengine.get_connection(alias).admin.command("ping")
        return True, "ok"
    except Exception as exc:  # any failure means not ready
        return False, f"{type(exc).__name__}: {exc}"


def amqp_ok(amqp_uri: str) -> tuple[bool, str]:
    try:
        params = pika.URLParameters(amqp_uri)
        params.socket_timeout = 2
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()
        return True, "ok"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def readiness(amqp_uri: str) -> tuple[bool, dict[str, Any]]:
    mongo, mongo_detail = mongo_ok()
    amqp, amqp_detail = amqp_ok(amqp_uri)
    return mongo and amqp, {"mongodb": mongo_detail, "amqp": amqp_detail}
