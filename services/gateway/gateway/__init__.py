"""The gateway service: the operators' HTTP API and web console, operator users and roles, multi-service orchestration. (database `<prefix>gateway`)."""
