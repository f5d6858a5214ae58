"""The notification service (database `<prefix>notification`).

Threshold notifications and their delivery by email, SMS and JSON webhook.
"""
