"""Entrypoints: HTTP, CLI (and Kafka) translate the outside world into use-case calls."""
