from chassis.cli import service_main

service_main(
    "notification",
    worker="notification.entrypoints.worker:NotificationService",
    documents="notification.adapters.documents:ALL_DOCUMENTS",
    jobs={
        "sms-gateway": "notification.standins.sms_gateway:main",
        "smtp-sink": "notification.standins.smtp_sink:main",
    },
)
