"""The customer service: owns customer accounts (database `<prefix>customer`)."""
