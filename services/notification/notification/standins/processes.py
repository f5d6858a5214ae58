"""The stand-ins as real processes on free ports, for tests and benchmarks:
`python -m notification smtp-sink` and `python -m notification sms-gateway`."""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from chassis import localinfra


class StandInProcess:
    def __init__(self, command: str, port: int, env: dict[str, str], timeout: float = 60):
        self.port = port
        self.process = subprocess.Popen([sys.executable, "-m", "notification", command],
                                        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not localinfra.port_open("127.0.0.1", port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                raise RuntimeError(f"notification {command} did not start: {output[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SmtpSinkProcess(StandInProcess):
    """The SMTP sink writing into `folder`; `messages(to=...)` parses what it received."""

    def __init__(self, folder: Path):
        self.folder = folder
        port = localinfra.free_port()
        super().__init__("smtp-sink", port, {"NOTIFICATION_SMTP_SINK_PORT": str(port),
                                             "NOTIFICATION_SMTP_SINK_DIR": str(folder)})

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in sorted(self.folder.glob("*.eml"))]
        return [m for m in found if to is None or m["To"] == to]


class SmsGatewayProcess(StandInProcess):
    def __init__(self, folder: Path):
        port = localinfra.free_port()
        self.url = f"http://127.0.0.1:{port}/messages"
        super().__init__("sms-gateway", port, {"NOTIFICATION_SMS_GATEWAY_PORT": str(port),
                                               "NOTIFICATION_SMS_GATEWAY_FILE": str(folder / "sms.jsonl")})

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.url, timeout=10) as response:
            found = json.loads(response.read())
        return [m for m in found if to is None or m["to"] == to]


def worker_env(mail: SmtpSinkProcess, sms: SmsGatewayProcess, webhook_secret: str, **overrides: str) -> dict[str, str]:
    """Environment pointing a notification worker at these stand-ins (no STARTTLS, quick retries)."""
    return {"NOTIFICATION_SMTP_HOST": "127.0.0.1", "NOTIFICATION_SMTP_PORT": str(mail.port),
            "NOTIFICATION_SMTP_STARTTLS": "false", "NOTIFICATION_SMS_URL": sms.url,
            "NOTIFICATION_WEBHOOK_SECRET": webhook_secret, "NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS": "1",
            "NOTIFICATION_RETRY_BASE_SECONDS": "0.5", "NOTIFICATION_RETRY_MAX_ATTEMPTS": "3", **overrides}
