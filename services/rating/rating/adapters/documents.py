"""MongoDB documents of the rating service."""
from __future__ import annotations

import mongoengine as me

ALL_DOCUMENTS: list[type[me.Document]] = []
