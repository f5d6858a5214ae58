"""The rating service (database `<prefix>rating`).

Subscriptions, services, balance groups and balances, sharing groups, usage events and real-time rating.
"""
