from chassis.cli import service_main

service_main(
    "customer",
    worker="customer.entrypoints.worker:CustomerService",
    documents="customer.adapters.documents:ALL_DOCUMENTS",
    jobs={"purge-closed-accounts": "customer.jobs:purge_closed_accounts"},
)
