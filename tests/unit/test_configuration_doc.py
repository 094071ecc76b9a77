"""Every environment variable the code reads is documented in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

from entrypoints.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


class RecordingEnv(dict[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


# Environments that switch every part on, so that every branch reads its settings.
KEY = "k1:" + "ab" * 32
FULL = [
    {},
    {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "MONGODB_URI": "mongodb://127.0.0.1/otp",
        "OTP_HASH_KEYS": KEY,
        "SMTP_HOST": "127.0.0.1",
        "SMS_PROVIDERS": "twilio,webhook",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM": "+40700000000",
        "SMS_WEBHOOK_URL": "https://sms.example/send",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_USERNAME": "u",
        "KAFKA_SASL_PASSWORD": "p",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    },
    {"OTP_HASH_KEY": "ab" * 32, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "DELIVERY": "outbox"},
]


def _documented() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC.read_text()))


def test_every_setting_the_code_reads_is_documented() -> None:
    asked: set[str] = set()
    for values in FULL:
        env = RecordingEnv(values)
        Settings.from_env(env)
        asked |= env.asked
    assert len(asked) > 80  # the recording sees the reads (there are about a hundred)
    missing = sorted(asked - _documented())
    assert missing == [], f"not in docs/configuration.md: {missing}"


def test_the_check_would_see_an_undocumented_setting() -> None:
    env = RecordingEnv({})
    Settings.from_env(env)
    env.get("OTP_SOMETHING_NEW")
    assert "OTP_SOMETHING_NEW" in env.asked - _documented()
