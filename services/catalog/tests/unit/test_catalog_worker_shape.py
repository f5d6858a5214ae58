from catalog.entrypoints.worker import CatalogService
from chassis.nameko_adapter import MongoConnection, WorkerBase


def test_the_catalog_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(CatalogService, WorkerBase)
    assert CatalogService.name == "catalog"
    assert isinstance(CatalogService.db, MongoConnection)
