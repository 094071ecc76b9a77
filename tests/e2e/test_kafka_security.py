"""The Kafka client's security settings, against a broker listener that asks for SASL/PLAIN."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import OTP, free_port, service_env
from tests.e2e.deployment import ENGINE_HEADERS, Deployment
from tests.integration.kafka import body, produce, read

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.mongo]

REQUEST = {
    "templateName": "otp-mail",
    "channel": "MAIL",
    "recipient": "ana@example.com",
    "clientId": "sasl-1",
}


def _sasl(password: str) -> dict[str, str]:
    servers = os.environ.get("OTP_TEST_KAFKA_SASL_SERVERS")
    if servers is None:
        pytest.fail("OTP_TEST_KAFKA_SASL_SERVERS is not set: run `make test`")
    return {
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": os.environ["OTP_TEST_KAFKA_SASL_USER"],
        "KAFKA_SASL_PASSWORD": password,
    }


def test_the_service_consumes_and_replies_through_a_sasl_listener(tmp_path: Path) -> None:
    password = os.environ.get("OTP_TEST_KAFKA_SASL_PASSWORD", "")
    deployment = Deployment(tmp_path, **_sasl(password))
    try:
        worker = deployment.start("w1")
        produce(
            deployment.topics.generate_in, [(b"k", json.dumps(REQUEST).encode(), ENGINE_HEADERS)]
        )
        (reply,) = read([deployment.topics.generate_out], 1)
        assert body(reply)["otpSent"] is True
        assert worker.stop() == 0
        assert password not in worker.logs()
    finally:
        deployment.stop()


def test_a_wrong_password_keeps_the_service_unready_and_out_of_the_logs(tmp_path: Path) -> None:
    deployment = Deployment(tmp_path, **_sasl("not-the-password"))
    port = free_port()
    log_path = tmp_path / "service.log"
    env = service_env(tmp_path, HTTP_PORT=str(port), **deployment.env)
    with log_path.open("wb") as log:
        process = subprocess.Popen([OTP, "serve"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    try:
        produce(deployment.topics.generate_in, [(b"k", json.dumps(REQUEST).encode(), [])])
        deadline = time.monotonic() + 20
        statuses = []
        while time.monotonic() < deadline and "uthentication" not in log_path.read_text():
            try:
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code)
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        logs = log_path.read_text()
        assert "uthentication" in logs, logs[-2000:]
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 503
        assert 200 not in statuses
        assert "not-the-password" not in logs
        assert read([deployment.topics.generate_out], 0, timeout=1) == []
    finally:
        process.terminate()
        process.wait(timeout=30)
        deployment.stop()
