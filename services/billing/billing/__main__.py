from chassis.cli import service_main

service_main(
    "billing",
    worker="billing.entrypoints.worker:BillingService",
    documents="billing.adapters.documents:ALL_DOCUMENTS",
    jobs={
        "payment-provider": "billing.provider_server:run",
        "collect-payments": "billing.jobs:collect_payments",
        "export-sepa": "billing.jobs:export_sepa",
    },
)
