from chassis.cli import service_main

service_main(
    "billing",
    worker="billing.entrypoints.worker:BillingService",
    documents="billing.adapters.documents:ALL_DOCUMENTS",
    jobs={
        "bill-run": "billing.jobs:bill_run",
        "payment-provider": "billing.provider_server:run",
        "collect-payments": "billing.payment_jobs:collect_payments",
        "export-sepa": "billing.payment_jobs:export_sepa",
    },
)
