from chassis.nameko_adapter import MongoConnection, WorkerBase
from selfcare.entrypoints.worker import SelfcareService


def test_the_selfcare_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(SelfcareService, WorkerBase)
    assert SelfcareService.name == "selfcare"
    assert isinstance(SelfcareService.db, MongoConnection)
