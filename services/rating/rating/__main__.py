from chassis.cli import service_main

service_main(
    "rating",
    worker="rating.entrypoints.worker:RatingService",
    documents="rating.adapters.documents:ALL_DOCUMENTS",
)
