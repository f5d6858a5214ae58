"""The catalog service (database `<prefix>catalog`).

The offering catalog and business configuration: resources, service types, plans,
bundles, products, promotions, credit profiles, taxes.
"""
