"""MongoDB documents of the gateway service."""
from __future__ import annotations

import mongoengine as me

ALL_DOCUMENTS: list[type[me.Document]] = []
