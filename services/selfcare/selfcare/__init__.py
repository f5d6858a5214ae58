"""The selfcare service (database `<prefix>selfcare`).

Portal users and the customers' self-care portal.
"""
