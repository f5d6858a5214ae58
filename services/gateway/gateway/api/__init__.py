"""Handlers named by operationId in contracts/http/gateway.yaml."""
