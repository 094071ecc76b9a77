"""A team's channel, installed as its own package beside the service (pip, entry point), is
driven over HTTP and Kafka without an edit to the service's files (docs/extending.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.templates.file_store import BUNDLED_TEMPLATES
from tests.e2e.conftest import start_service
from tests.e2e.deployment import ENGINE_HEADERS, Deployment
from tests.integration.kafka import body, produce, read
from tests.outbox import code_in

pytestmark = pytest.mark.e2e

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "otp_push"
TOKEN = "device:a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The plug-in installed into a folder of its own, and a template folder with its
    template beside the bundled ones."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site,
         PLUGIN],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    templates = tmp_path_factory.mktemp("templates")
    shutil.copytree(BUNDLED_TEMPLATES, templates, dirs_exist_ok=True)
    shutil.copytree(site / "otp_push" / "templates", templates, dirs_exist_ok=True)
    return site, templates


def _pushed(outbox: Path) -> list[str]:
    return [path.read_text() for path in sorted(outbox.glob("*.push"))]


def test_a_plugin_channel_sends_and_validates_over_http(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    site, templates = installed
    service = start_service(
        tmp_path, PYTHONPATH=str(site), TEMPLATES_DIR=str(templates), PUSH_APP_NAME="otp-bank"
    )
    try:

        def post(path: str, request: dict[str, Any]) -> dict[str, Any]:
            reply: dict[str, Any] = httpx.post(
                f"{service.base_url}{path}", json=request, timeout=10
            ).json()
            return reply

        ask = {"templateName": "otp-push", "channel": "push", "clientId": "app-1"}
        refused = post("/v1/otp/generate", {**ask, "recipient": "ana@example.com"})
        sent = post("/v1/otp/generate", {**ask, "recipient": TOKEN})
        (message,) = _pushed(service.outbox)
        check = {"clientId": "app-1", "channel": "PUSH", "otp": code_in(message)}
        verdict = post("/v1/otp/validate", check)
        other = post("/v1/otp/generate", {**ask, "channel": "FAX", "recipient": TOKEN})
    finally:
        service.stop()
    assert refused["errorCode"] == "INVALID_RECIPIENT"
    assert sent["otpSent"] is True
    assert message.startswith(f"App: otp-bank\nTo: {TOKEN}\n")
    assert verdict["otpValid"] is True
    assert other["errorCode"] == "UNSUPPORTED_CHANNEL"
    assert "MAIL, PUSH, SMS" in other["error"]


@pytest.mark.kafka
@pytest.mark.mongo
def test_a_plugin_channel_sends_and_validates_over_kafka(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    site, templates = installed
    deployment = Deployment(tmp_path, PYTHONPATH=str(site))
    deployment.import_templates(templates)
    try:
        deployment.start("w1")
        topics = deployment.topics
        ask = {"templateName": "otp-push", "channel": "PUSH", "recipient": TOKEN, "clientId": "k1"}
        produce(topics.generate_in, [(b"k", json.dumps(ask).encode(), ENGINE_HEADERS)])
        (reply,) = read([topics.generate_out], 1)
        (message,) = _pushed(tmp_path / "outbox")
        check = {"clientId": "k1", "channel": "PUSH", "otp": code_in(message)}
        produce(topics.validate_in, [(b"k", json.dumps(check).encode(), ENGINE_HEADERS)])
        (verdict,) = read([topics.validate_out], 1)
    finally:
        deployment.stop()
    assert body(reply)["otpSent"] is True, body(reply)
    assert body(verdict)["otpValid"] is True
