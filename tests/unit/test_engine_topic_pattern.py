"""The engine reads only topics matching its pattern: `otp serve` says so about reply topics
outside it, and refuses to start with --strict."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from entrypoints.settings import Settings, SettingsError

KAFKA = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "OTP_HASH_KEYS": "k1:" + "cd" * 32,
    "DELIVERY": "outbox",
}


def test_the_default_reply_topics_match_the_engines_pattern() -> None:
    kafka = Settings.from_env(KAFKA).kafka
    assert kafka is not None and kafka.unread_reply_topics() == []


def test_a_reply_topic_outside_the_pattern_is_named() -> None:
    env = {**KAFKA, "KAFKA_TOPIC_OTP_VALIDATE_OUT": "otp.validate.replies"}
    kafka = Settings.from_env(env).kafka
    assert kafka is not None and kafka.unread_reply_topics() == ["otp.validate.replies"]
    custom = Settings.from_env({**env, "ENGINE_TOPIC_PATTERN": r"otp\..*"}).kafka
    assert custom is not None
    assert custom.unread_reply_topics() == [custom.generate_out]


def test_a_pattern_that_is_no_regular_expression_is_refused() -> None:
    with pytest.raises(SettingsError, match="ENGINE_TOPIC_PATTERN"):
        Settings.from_env({**KAFKA, "ENGINE_TOPIC_PATTERN": "ai.(flowx"})


def test_serve_strict_refuses_to_start_with_an_unread_reply_topic() -> None:
    env = {**KAFKA, "KAFKA_TOPIC_OTP_GENERATE_OUT": "somewhere.else"}
    result = CliRunner().invoke(main, ["serve", "--strict"], env=env)
    assert result.exit_code == 78  # EX_CONFIG: the configuration, not the command line
    assert "Usage:" not in result.output
    assert "somewhere.else" in result.output
    assert "ENGINE_TOPIC_PATTERN" in result.output
