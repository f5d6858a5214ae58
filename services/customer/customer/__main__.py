from chassis.cli import service_main

service_main(
    "customer",
    worker="customer.entrypoints.worker:CustomerService",
    documents="customer.adapters.documents:ALL_DOCUMENTS",
)
