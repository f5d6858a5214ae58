"""A local SMS provider: accepts what `HttpSmsProvider` sends and records it.

    python -m notification sms-gateway     # NOTIFICATION_SMS_GATEWAY_PORT (contracts/services.toml: 8099), records to
                                           # NOTIFICATION_SMS_GATEWAY_FILE (.run/sms/messages.jsonl)

POST /messages {"from", "to", "text", "reference"} -> 202 {"id", "status": "accepted"};
GET /messages lists what it received (newest last); GET /health/live answers 200.
With NOTIFICATION_SMS_GATEWAY_API_KEY set, a request without `Authorization: Bearer <key>` gets 401.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chassis.manifest import default_port


class SmsGateway:
    def __init__(self, host: str, port: int, record_file: Path, api_key: str | None = None):
        self.record_file = record_file
        self.api_key = api_key
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        record_file.parent.mkdir(parents=True, exist_ok=True)
        self.server = ThreadingHTTPServer((host, port), self._handler())

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": str(uuid.uuid4()), "receivedAt": datetime.now(UTC).isoformat(), **message}
        with self._lock:
            self.messages.append(entry)
            with self.record_file.open("a") as out:
                out.write(json.dumps(entry) + "\n")
        return entry

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path == "/messages":
                    with gateway._lock:
                        self._reply(200, list(gateway.messages))
                elif self.path.startswith("/health"):
                    self._reply(200, {"status": "live"})
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/messages":
                    self._reply(404, {"error": "not found"})
                    return
                if gateway.api_key and self.headers.get("Authorization") != f"Bearer {gateway.api_key}":
                    self._reply(401, {"error": "bad or missing API key"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    message = {"from": body.get("from"), "to": str(body["to"]), "text": str(body["text"]),
                               "reference": body.get("reference")}
                except (ValueError, KeyError, TypeError):
                    self._reply(400, {"error": "send JSON with to and text"})
                    return
                entry = gateway.record(message)
                self._reply(202, {"id": entry["id"], "status": "accepted"})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(settings: Any) -> None:
    port = int(settings.service_setting("SMS_GATEWAY_PORT", str(default_port("notification", "sms-gateway"))))
    gateway = SmsGateway(settings.http_host, port,
                         Path(settings.service_setting("SMS_GATEWAY_FILE", ".run/sms/messages.jsonl")),
                         settings.service_setting("SMS_GATEWAY_API_KEY", "") or None)
    print(f"SMS gateway on http://{settings.http_host}:{gateway.port}/messages, recording to {gateway.record_file}",
          flush=True)
    try:
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.close()
