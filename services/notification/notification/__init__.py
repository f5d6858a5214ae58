"""The notification service: threshold notifications and their delivery by email, SMS and JSON webhook. (database `<prefix>notification`)."""
