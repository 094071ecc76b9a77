"""The HTTP entrypoint (CONTRACT §3)."""
