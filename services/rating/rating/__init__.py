"""The rating service: subscriptions, services, balance groups and balances, sharing groups, usage events and real-time rating. (database `<prefix>rating`)."""
