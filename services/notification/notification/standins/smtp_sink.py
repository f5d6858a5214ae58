"""A local SMTP server that keeps every message as a file (aiosmtpd).

    python -m notification smtp-sink     # NOTIFICATION_SMTP_SINK_PORT (contracts/services.toml: 2525), writes
                                         # NOTIFICATION_SMTP_SINK_DIR (.run/mail)/<time>-<n>.eml

Read a message with any mail client or `cat`; the newest file is the latest email.
"""
from __future__ import annotations

import itertools
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from chassis.manifest import default_port


class MailDirHandler:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._count = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{next(self._count)}.eml"
        header = f"X-Sink-Mail-From: {envelope.mail_from}\r\nX-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        content = envelope.original_content or envelope.content
        path.write_bytes(header.encode() + (content if isinstance(content, bytes) else content.encode()))
        return "250 Message accepted for delivery"


def main(settings: Any) -> None:
    folder = Path(settings.service_setting("SMTP_SINK_DIR", ".run/mail"))
    port = int(settings.service_setting("SMTP_SINK_PORT", str(default_port("notification", "smtp-sink"))))
    controller = Controller(MailDirHandler(folder), hostname=settings.http_host, port=port)
    controller.start()
    print(f"SMTP sink on {settings.http_host}:{port}, messages in {folder.resolve()}/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
