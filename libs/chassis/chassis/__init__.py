"""Shared chassis for the monetization services (see README.md)."""
