from chassis.nameko_adapter import MongoConnection, WorkerBase
from customer.entrypoints.worker import CustomerService


def test_the_customer_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(CustomerService, WorkerBase)
    assert CustomerService.name == "customer"
    assert isinstance(CustomerService.db, MongoConnection)
