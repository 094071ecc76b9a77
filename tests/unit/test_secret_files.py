"""Every secret setting may come from a file (``NAME_FILE``), as mounted secrets do; both set, or
a file that cannot be read, stops the start naming the variable and never the value."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from adapters.plugins import channel_plugins
from adapters.settings import Branch, SettingsError, names, secret_names
from adapters.stores import store_plugins
from entrypoints.settings import Settings

KEY = "cd" * 32
SHARED = {"OTP_HASH_KEY": KEY, "DELIVERY": "outbox"}
KAFKA = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", **SHARED}
TWILIO = {"SMS_PROVIDERS": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_FROM": "+40700000000"}
WEBHOOK = {"SMS_PROVIDERS": "webhook", "SMS_WEBHOOK_URL": "https://sms.example/send"}
JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";'

# Each secret: the settings it needs beside it, and a value it takes.
SECRETS: dict[str, tuple[dict[str, str], str]] = {
    "OTP_HASH_KEYS": ({}, "k1:" + "ab" * 32),
    "OTP_HASH_KEY": ({}, KEY),
    "OTP_HASH_PREVIOUS_KEYS": ({"OTP_HASH_KEY": KEY}, "ef" * 32),
    "OTP_TEST_CODE": ({"OTP_TEST_RECIPIENTS": r"[a-z]+@qa\.example"}, "123456"),
    "HTTP_API_KEYS": ({}, "ci:" + hashlib.sha256(b"a caller's key").hexdigest()),
    "MONGODB_URI": (SHARED, "mongodb://otp:s3cret@db.example/otp"),
    "KAFKA_SASL_PASSWORD": (
        {**KAFKA, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "otp"},
        "sasl-s3cret",
    ),
    "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG": (
        {**KAFKA, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
        JAAS,
    ),
    "KAFKA_SSL_KEY_PASSWORD": ({**KAFKA, "KAFKA_SECURITY_PROTOCOL": "SSL"}, "key-s3cret"),
    "SMTP_PASSWORD": ({"SMTP_HOST": "smtp.example", "SMTP_USERNAME": "otp"}, "smtp-s3cret"),
    "TWILIO_AUTH_TOKEN": (TWILIO, "twilio-s3cret"),
    "SMS_WEBHOOK_TOKEN": (WEBHOOK, "webhook-s3cret"),
    "SMS_WEBHOOK_CALLBACK_SECRET": (WEBHOOK, "callback-s3cret"),
    "SMPP_PASSWORD": (
        {"SMS_PROVIDERS": "smpp", "SMPP_HOST": "smsc.example", "SMPP_SYSTEM_ID": "otp"},
        "smpp-s3",
    ),
}


def test_the_list_above_is_every_secret_setting() -> None:
    branches: list[type[Branch]] = [Settings, *(p.settings for p in channel_plugins())]
    branches += [p.settings for p in store_plugins().values()]
    declared = {
        names(field)[0]
        for branch in branches
        for _, field in branch.variables()
        if names(field)[0] in secret_names(branch)
    }
    assert declared == set(SECRETS)


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_secret_given_as_a_file_is_the_same_setting_as_given_as_a_value(
    name: str, tmp_path: Path
) -> None:
    beside, value = SECRETS[name]
    secret = tmp_path / "secret"
    secret.write_text(value + "\n")  # as `echo` or `kubectl create secret` leave it
    from_file = Settings.from_env({**beside, f"{name}_FILE": str(secret)})
    assert from_file == Settings.from_env({**beside, name: value})
    secret.write_text(value[:-1] + chr(ord(value[-1]) ^ 1))  # another value: other settings
    assert from_file != Settings.from_env({**beside, f"{name}_FILE": str(secret)})


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    return "\n".join(refused.value.problems)


@pytest.mark.parametrize("name", ["SMTP_PASSWORD", "MONGODB_URI", "OTP_HASH_KEY"])
def test_a_secret_given_both_ways_is_refused_naming_both_and_not_the_value(
    name: str, tmp_path: Path
) -> None:
    beside, value = SECRETS[name]
    secret = tmp_path / "secret"
    secret.write_text(value)
    said = refusal({**beside, name: value, f"{name}_FILE": str(secret)})
    assert f"{name} and {name}_FILE are both set" in said
    assert value not in said


@pytest.mark.parametrize("kind", ["missing", "a folder", "empty", "not text"])
def test_a_secret_file_that_cannot_be_read_is_refused_naming_its_variable(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "secret"
    if kind == "a folder":
        path.mkdir()
    elif kind == "empty":
        path.write_text("\n")
    elif kind == "not text":
        path.write_bytes(b"\xff\xfe\x00")
    beside, _ = SECRETS["TWILIO_AUTH_TOKEN"]
    said = refusal({**beside, "TWILIO_AUTH_TOKEN_FILE": str(path)})
    assert said.startswith("TWILIO_AUTH_TOKEN_FILE names ")
    assert str(path) in said
