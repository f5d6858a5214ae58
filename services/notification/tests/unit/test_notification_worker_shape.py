from chassis.nameko_adapter import MongoConnection, WorkerBase
from notification.entrypoints.worker import NotificationService


def test_the_notification_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(NotificationService, WorkerBase)
    assert NotificationService.name == "notification"
    assert isinstance(NotificationService.db, MongoConnection)
