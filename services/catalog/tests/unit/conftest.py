import pytest


class InMemoryReferences:
    """The catalog entries a rule may look up, held in dicts (the unit tests' `References`)."""

    def __init__(self):
        self.resources = {"EUR": {"code": "EUR", "kind": "monetary"}, "MIN": {"code": "MIN", "kind": "unit"},
                          "MB": {"code": "MB", "kind": "unit"}}
        self.taxes = {"VAT": {"code": "VAT"}}
        self.service_types = {"voice": {"code": "voice", "fields": [
            {"name": "startTime", "type": "datetime", "role": "mandatory"},
            {"name": "destination", "type": "enum", "role": "ratingSet",
             "allowed_values": ["national", "eu", "international"]},
            {"name": "timeBand", "type": "enum", "role": "ratingSet", "allowed_values": ["peak", "offpeak"]},
            {"name": "country", "type": "string", "role": "ratingSet"},
            {"name": "to", "type": "string", "role": "mandatory"}]}}
        self.offerings = {}

    def resource(self, code):
        return self.resources.get(code)

    def service_type(self, code):
        return self.service_types.get(code)

    def tax(self, code):
        return self.taxes.get(code)

    def offering(self, kind, code, version):
        versions = [o for (k, c, _), o in self.offerings.items() if k == kind and c == code]
        if version is not None:
            versions = [o for o in versions if o["version"] == version]
        return max(versions, key=lambda o: o["version"]) if versions else None

    def add(self, kind, code, version=1, status="active", **fields):
        self.offerings[(kind, code, version)] = {"code": code, "version": version, "status": status, **fields}


@pytest.fixture
def refs():
    return InMemoryReferences()
