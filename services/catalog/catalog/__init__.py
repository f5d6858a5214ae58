"""The catalog service: the offering catalog and business configuration (database `<prefix>catalog`):
resources, service types, plans, bundles, products, promotions, credit profiles, sharing policies, taxes."""
