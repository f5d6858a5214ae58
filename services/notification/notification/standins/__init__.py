"""Local stand-ins for the outside world, for `make up` and the tests: an SMTP sink and an SMS gateway."""
