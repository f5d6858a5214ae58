from chassis.nameko_adapter import MongoConnection, WorkerBase
from rating.entrypoints.worker import RatingService


def test_the_rating_worker_is_a_chassis_worker_on_its_own_database():
    assert issubclass(RatingService, WorkerBase)
    assert RatingService.name == "rating"
    assert isinstance(RatingService.db, MongoConnection)
