"""OTP repositories: SQLite for the embedded default, in-memory for tests."""
