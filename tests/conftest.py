"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.deployment import deployment  # noqa: F401 - a fixture
from tests.harness import Harness
from tests.kafka_rig import rig  # noqa: F401 - a fixture for the Kafka tiers
from tests.sms_server import sms_providers  # noqa: F401 - a fixture
from tests.smsc import smsc  # noqa: F401 - a fixture
from tests.smtp_server import certificate_authority, mail_server  # noqa: F401 - fixtures


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


REAL_SERVERS = {
    "kafka": "Kafka",
    "mongo": "MongoDB-wire (mongo-java-server)",
    "smtp": "SMTP (aiosmtpd)",
    "sms_provider": "SMS provider API (local HTTP)",
    "smsc": "SMSC (jsmpp, SMPP 3.4)",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Says how many of the passing tests talked to a real server, per server."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {
        label: sum(1 for report in passed if marker in report.keywords)
        for marker, label in REAL_SERVERS.items()
    }
    either = sum(1 for report in passed if any(m in report.keywords for m in REAL_SERVERS))
    details = ", ".join(f"{label}: {n}" for label, n in counts.items())
    terminalreporter.write_line(
        f"{either} passing tests ran against real servers ({details})", bold=True
    )


def pytest_configure(config: pytest.Config) -> None:
    """pytest-bdd writes the scenarios' results (--cucumber-json, for the living
    documentation) but does not make the folder."""
    path = config.getoption("cucumber_json_path", None)
    if path:
        Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)
