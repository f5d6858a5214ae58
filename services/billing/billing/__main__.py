from chassis.cli import service_main

service_main(
    "billing",
    worker="billing.entrypoints.worker:BillingService",
    documents="billing.adapters.documents:ALL_DOCUMENTS",
    jobs={
        "bill-run": "billing.jobs:bill_run_command",
        "payment-provider": "billing.provider_server:run",
        "collect-payments": "billing.jobs:collect_payments",
        "sepa-export": "billing.jobs:export_sepa",
    },
)
