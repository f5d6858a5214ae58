"""MongoDB documents of the selfcare service."""
from __future__ import annotations

import mongoengine as me

ALL_DOCUMENTS: list[type[me.Document]] = []
