from chassis.cli import service_main

service_main(
    "gateway",
    worker="gateway.entrypoints.worker:GatewayService",
    documents="gateway.adapters.documents:ALL_DOCUMENTS",
    api="gateway.entrypoints.api:create_app",
)
