from chassis.cli import service_main

service_main(
    "selfcare",
    worker="selfcare.entrypoints.worker:SelfcareService",
    documents="selfcare.adapters.documents:ALL_DOCUMENTS",
    api="selfcare.entrypoints.api:create_app",
    jobs={"load-demo": "selfcare.demo:load_demo"},
)
