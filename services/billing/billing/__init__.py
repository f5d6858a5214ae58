"""The billing service: owns billing accounts, bills, invoices and payments (database `<prefix>billing`)."""
