"""The selfcare service: portal users and the customers' self-care portal. (database `<prefix>selfcare`)."""
