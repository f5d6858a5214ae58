from chassis.cli import service_main

service_main(
    "catalog",
    worker="catalog.entrypoints.worker:CatalogService",
    documents="catalog.adapters.documents:ALL_DOCUMENTS",
    jobs={"load-demo": "catalog.entrypoints.jobs:load_demo"},
)
