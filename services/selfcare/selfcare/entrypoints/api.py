"""The self-care portal's HTTP process (connexion on uvicorn)."""
from __future__ import annotations

import connexion

from chassis.http import build_app
from chassis.mongo import connect
from chassis.settings import Settings


def create_app() -> connexion.AsyncApp:
    settings = Settings.from_env("selfcare")
    connect(settings)
    return build_app(settings, ["selfcare"])
