"""The gateway service (database `<prefix>gateway`).

The operators' HTTP API and web console, operator users and roles, multi-service orchestration.
"""
