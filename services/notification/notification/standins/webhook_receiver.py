"""A local webhook receiver that does what a real one should: verify the signature, deduplicate on
the delivery id, and keep what it received. Tests and the benchmark start it in-process; its
`mode` makes it answer 500 or hang, to exercise retries.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notification.domain import signing


@dataclass
class Received:
    delivery_id: str
    body: dict[str, Any]
    signature_ok: bool
    at: float


class WebhookReceiver:
    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0):
        self.secret = secret
        self.mode = "ok"  # "ok", "fail" (answers 500) or "hang" (answers after `hang_seconds`)
        self.hang_seconds = 5.0
        self.received: list[Received] = []
        self.refused = 0
        self.requests = 0  # every POST, duplicates included
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests += 1
                if receiver.mode == "hang":
                    time.sleep(receiver.hang_seconds)
                if receiver.mode != "ok":
                    with receiver._lock:
                        receiver.refused += 1
                    self._answer(500)
                    return
                ok = signing.verify(receiver.secret, self.headers.get(signing.TIMESTAMP_HEADER, ""), raw,
                                    self.headers.get(signing.SIGNATURE_HEADER, ""), now=int(time.time()))
                delivery_id = self.headers.get(signing.ID_HEADER, "")
                with receiver._lock:
                    if delivery_id not in receiver._seen:  # a redelivery is acknowledged, not kept twice
                        receiver._seen.add(delivery_id)
                        receiver.received.append(Received(delivery_id, json.loads(raw), ok, time.time()))
                self._answer(204 if ok else 401)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
