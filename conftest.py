# Real-infrastructure fixtures (mongod replica set, RabbitMQ vhost, service processes).
pytest_plugins = ["chassis.testing"]
