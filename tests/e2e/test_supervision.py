"""A Kafka consumer that cannot run ends ``otp serve`` with a non-zero status, for a restart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import OTP, free_port, service_env
from tests.integration.kafka import bootstrap

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


def test_a_consumer_that_ends_on_its_own_makes_the_process_exit_non_zero(tmp_path: Path) -> None:
    env = service_env(
        tmp_path,
        HTTP_PORT=str(free_port()),
        KAFKA_BOOTSTRAP_SERVERS=bootstrap(),
        DELIVERY="outbox",
        OTP_HASH_KEY="5e" * 32,
        # Past librdkafka's largest (a day): refused when the consumer is built, after HTTP is up.
        KAFKA_STATISTICS_INTERVAL_MS="86400001",
    )
    finished = subprocess.run(
        [OTP, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode != 0
    assert "service.failed" in finished.stdout + finished.stderr
    assert "the Kafka consumer ended" in finished.stderr
