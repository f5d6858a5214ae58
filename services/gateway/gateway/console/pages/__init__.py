"""Console pages, one module per area; each registers its routes with `web.route`."""
