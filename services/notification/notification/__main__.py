from chassis.cli import service_main

service_main(
    "notification",
    worker="notification.entrypoints.worker:NotificationService",
    documents="notification.adapters.documents:ALL_DOCUMENTS",
)
