"""One-off commands: `python -m catalog <job>` (connected to the database by chassis.cli)."""
from __future__ import annotations

from typing import Any

from catalog.adapters.documents import ALL_DOCUMENTS
from catalog.service_layer import demo
from chassis.mongo import ensure_indexes


def load_demo(settings: Any) -> None:
    ensure_indexes(ALL_DOCUMENTS)
    print(demo.load_demo())
