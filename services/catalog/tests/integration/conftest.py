import pytest

from catalog.adapters.documents import ALL_DOCUMENTS
from catalog.service_layer import demo
from chassis.mongo import ensure_indexes


@pytest.fixture
def catalog_db(service_db):
    """An empty catalog database with its indexes (unique codes are enforced by them)."""
    db = service_db("catalog")
    ensure_indexes(ALL_DOCUMENTS)
    return db


@pytest.fixture
def demo_catalog(catalog_db):
    demo.load_demo()
    return catalog_db
