"""Notification channels: outbox files, and in-memory recorders for tests."""
