from chassis.cli import service_main

service_main(
    "rating",
    worker="rating.entrypoints.worker:RatingService",
    stream="rating.entrypoints.stream:run",
    stream_topology="rating.bootstrap:USAGE_TOPOLOGY",
    consumers={"charging": ("rating.entrypoints.charging:run", "rating.bootstrap:CHARGING_TOPOLOGY")},
    documents="rating.adapters.documents:ALL_DOCUMENTS",
)
