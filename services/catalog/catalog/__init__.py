"""The catalog service: the offering catalog and business configuration: resources, service types, plans, bundles, products, promotions, credit profiles, taxes. (database `<prefix>catalog`)."""
