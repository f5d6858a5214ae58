"""The self-care portal's HTTP process (connexion on uvicorn): the JSON API of
contracts/http/selfcare.yaml and the pages for people (entrypoints/pages.py)."""
from __future__ import annotations

import connexion

from chassis.http import build_app
from chassis.mongo import connect, ensure_indexes
from chassis.settings import Settings
from selfcare import bootstrap
from selfcare.adapters.documents import ALL_DOCUMENTS
from selfcare.entrypoints import pages, web


def create_app() -> connexion.AsyncApp:
    settings = Settings.from_env("selfcare")
    connect(settings)
    ensure_indexes(ALL_DOCUMENTS)
    web.portal = bootstrap.portal(settings)
    app = build_app(settings, ["selfcare"])
    for path, page, methods in pages.ROUTES:
        app.add_url_rule(path, endpoint=page.__name__ + path, view_func=page, methods=methods)
    return app
