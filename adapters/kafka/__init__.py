"""Kafka adapters over confluent-kafka."""
