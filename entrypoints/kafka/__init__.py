"""The Kafka entrypoint: the process engine's way in (CONTRACT §1)."""
