"""The billing service (database `<prefix>billing`).

Owns billing accounts, bills, invoices and payments
"""
