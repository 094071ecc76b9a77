"""What an operator sees in the first hour: a clean stop on every SIGINT and SIGTERM, and a
log that stays readable while the broker is down."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningService, free_port, launch_service
from tests.integration.kafka import bootstrap

pytestmark = [pytest.mark.e2e]

KEYS = {"DELIVERY": "outbox", "OTP_HASH_KEY": "5e" * 32}


def _wait_for(service: RunningService, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in service.logs():
        assert service.process.poll() is None, service.logs()
        assert time.monotonic() < deadline, f"no {text!r} in:\n{service.logs()}"
        time.sleep(0.02)


@pytest.mark.kafka
def test_every_sigint_and_sigterm_stops_the_service_in_order(tmp_path: Path) -> None:
    """Ten stops, alternating the signals, landing from the start of the lifespan (topics
    being created, the consumer joining) to a consuming worker."""
    for run in range(10):
        workdir = tmp_path / f"run-{run}"
        workdir.mkdir()
        service = launch_service(
            workdir,
            KAFKA_BOOTSTRAP_SERVERS=bootstrap(),
            KAFKA_CONSUMER_GROUP_ID=f"stop-{run}-{time.time_ns()}",
            **KEYS,
        )
        try:
            # uvicorn has its signal handlers from this line on; before it, nothing is served.
            _wait_for(service, "Started server process")
            time.sleep(0.2 * run)
            sent = signal.SIGINT if run % 2 == 0 else signal.SIGTERM
            service.process.send_signal(sent)
            code = service.process.wait(timeout=45)
        finally:
            if service.process.poll() is None:
                service.process.kill()
                service.process.wait()
        logs = service.logs()
        assert code == 0, f"run {run} ({sent.name}) exited {code}:\n{logs}"
        for absent in ("Traceback", "CancelledError"):
            assert absent not in logs, f"run {run} ({sent.name}):\n{logs}"
        assert "Application shutdown complete" in logs, f"run {run} ({sent.name}):\n{logs}"


def test_a_broker_that_is_down_gives_one_line_per_interval_with_the_count(
    tmp_path: Path,
) -> None:
    """librdkafka writes a FAIL line per reconnect from each client (239 in 10 s were
    counted): they join the service's throttled line for Kafka, one per 10 s."""
    nobody = free_port()  # nothing listens there
    service = launch_service(tmp_path, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{nobody}", **KEYS)
    try:
        _wait_for(service, "kafka.consuming")
        time.sleep(12)
    finally:
        assert service.stop() == 0
    lines = [json.loads(line) for line in service.logs().splitlines() if line.startswith("{")]
    about_kafka = [
        line
        for line in lines
        if line["event"].startswith("kafka.client") or "rdkafka" in str(line.get("event"))
    ]
    assert 1 <= len(about_kafka) <= 3, about_kafka
    assert sum(line.get("held_back", 0) for line in about_kafka) > 10
    raw = [line for line in lines if str(line.get("logger", "")).startswith("confluent_kafka")]
    assert not [line for line in raw if line.get("level") in ("warning", "error")]
