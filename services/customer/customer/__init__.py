"""The customer service (database `<prefix>customer`).

Owns customer accounts
"""
