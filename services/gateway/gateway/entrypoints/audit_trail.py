"""ASGI middleware: every successful change made through the operators' API is
written to the audit trail (reads and the login itself are not changes)."""
from __future__ import annotations

import json
import logging
from typing import Any

import anyio

from gateway.service_layer import audit

log = logging.getLogger(__name__)
UNAUDITED = frozenset({"/api/v1/auth/token"})
MAX_CAPTURED = 256 * 1024


class DropSecurityContext:
    """Runs after the bearer check: removes `token_info`/`user` from connexion's context,
    which connexion would otherwise pass into every handler taking `**kwargs` as if they
    were query parameters. Handlers learn who calls from `audit.actor()`."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        context = scope.get("extensions", {}).get("connexion_context")
        if context is not None:
            context.pop("token_info", None)
            context.pop("user", None)
        await self.app(scope, receive, send)


class AuditTrail:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        note, token = audit.open_note()
        if scope["method"] in ("GET", "HEAD", "OPTIONS") or scope["path"] in UNAUDITED:
            try:
                await self.app(scope, receive, send)
            finally:
                audit.close_note(token)
            return
        captured: dict[str, Any] = {"status": 500, "body": bytearray(), "json": False}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                captured["json"] = headers.get("content-type", "").startswith("application/json")
            elif message["type"] == "http.response.body":
                if captured["json"] and len(captured["body"]) < MAX_CAPTURED:
                    captured["body"].extend(message.get("body", b""))
                if not message.get("more_body"):
                    # Written before the last byte leaves: a client that saw the change can read its entry.
                    await self._record(scope, note, captured)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            audit.close_note(token)

    async def _record(self, scope: dict[str, Any], note: dict[str, Any], captured: dict[str, Any]) -> None:
        if not 200 <= captured["status"] < 300 or "actor" not in note:
            return
        response = None
        if captured["json"] and captured["body"] and len(captured["body"]) < MAX_CAPTURED:
            try:
                response = json.loads(bytes(captured["body"]))
            except ValueError:
                response = None
        try:
            await anyio.to_thread.run_sync(
                lambda: audit.record(note, method=scope["method"], path=scope["path"], status=captured["status"],
                                     response=response))
        except Exception:  # the change is made; a lost audit entry must be visible in the logs
            log.exception("could not write an audit entry", extra={"path": scope["path"], "actor": note["actor"]})
