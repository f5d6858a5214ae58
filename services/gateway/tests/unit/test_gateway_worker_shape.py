from chassis.nameko_adapter import MongoConnection, WorkerBase
from gateway.entrypoints.worker import GatewayService


def test_the_gateway_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(GatewayService, WorkerBase)
    assert GatewayService.name == "gateway"
    assert isinstance(GatewayService.db, MongoConnection)
