"""Settings from the environment, FLOWX aliases included, and their limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain.channel import Channel
from domain.policy import OtpPolicy
from entrypoints.settings import Settings, SettingsError


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.codes.policy == OtpPolicy()
    assert settings.codes.policy.length == 6
    assert settings.codes.policy.ttl == timedelta(seconds=600)
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.store.sqlite_path == Path("var/otp.sqlite3")
    assert settings.store.outbox_dir == Path("var/outbox")


def test_flowx_names_are_accepted() -> None:
    settings = Settings.from_env(
        {"FLOWX_OTP_LENGTH": "8", "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS": "120"}
    )
    assert settings.codes.policy.length == 8
    assert settings.codes.policy.ttl == timedelta(seconds=120)


def test_the_project_name_wins_over_its_alias() -> None:
    settings = Settings.from_env({"OTP_LENGTH": "7", "FLOWX_OTP_LENGTH": "9"})
    assert settings.codes.policy.length == 7


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTP_LENGTH": "3"}, "OTP_LENGTH must be at least 4"),
        ({"OTP_LENGTH": "11"}, "OTP_LENGTH must be at most 10"),
        ({"OTP_LENGTH": "six"}, "OTP_LENGTH"),
        ({"OTP_TTL_SECONDS": "0"}, "OTP_TTL_SECONDS must be more than 0"),
        ({"HTTP_PORT": "http"}, "HTTP_PORT"),
    ],
)
def test_an_unusable_setting_is_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_hash_key_never_shows_in_the_settings_repr() -> None:
    settings = Settings.from_env({"OTP_HASH_KEY": "ab" * 32})
    assert "ab" * 32 not in repr(settings)


def test_smtp_settings_accept_the_simplejavamail_names_and_hide_the_password() -> None:
    settings = Settings.from_env(
        {
            "SIMPLEJAVAMAIL_SMTP_HOST": "mail.bank.example",
            "SIMPLEJAVAMAIL_SMTP_USERNAME": "otp",
            "SIMPLEJAVAMAIL_SMTP_PASSWORD": "very-secret-password",
            "SMTP_SECURITY": "tls",
        }
    )
    smtp = settings.channels[Channel.MAIL].smtp
    assert smtp is not None
    assert (smtp.host, smtp.server_port, smtp.username) == ("mail.bank.example", 465, "otp")
    assert "very-secret-password" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMS_PROVIDERS": "twilio,carrier-pigeon"}, "SMS_PROVIDERS"),
        ({"SMS_PROVIDERS": "twilio"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_PROVIDERS": "webhook"}, "SMS_WEBHOOK_URL"),
        ({"SMTP_HOST": "h", "SMTP_SECURITY": "ssl3"}, "SMTP_SECURITY"),
        ({"SMTP_HOST": "h", "SMTP_VALIDATE_CERTS": "maybe"}, "SMTP_VALIDATE_CERTS"),
        ({"DELIVERY_BACKOFF_MAX_SECONDS": "soon"}, "DELIVERY_BACKOFF_MAX_SECONDS"),
    ],
)
def test_unusable_delivery_settings_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_sms_providers_keep_their_failover_order_and_hide_tokens() -> None:
    settings = Settings.from_env(
        {
            "SMS_PROVIDERS": "webhook, Twilio",
            "SMS_WEBHOOK_URL": "http://sms.local/send",
            "SMS_WEBHOOK_TOKEN": "hook-token-secret",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "twilio-token-secret",
            "TWILIO_FROM": "+40700000000",
        }
    )
    assert settings.channels[Channel.SMS].providers == ("webhook", "twilio")
    assert "hook-token-secret" not in repr(settings)
    assert "twilio-token-secret" not in repr(settings)


def test_templates_come_from_the_folder_even_when_codes_are_in_mongodb(tmp_path: Path) -> None:
    env = {"MONGODB_URI": "mongodb://db/otp", "OTP_HASH_KEY": "4b" * 32, "DELIVERY": "outbox"}
    settings = Settings.from_env({**env, "TEMPLATES_DIR": str(tmp_path)})
    assert settings.store.templates == "files"
    assert Settings.from_env(env).store.templates == "mongo"
    with pytest.raises(SettingsError, match="TEMPLATES_DIR names no folder"):
        Settings.from_env({**env, "TEMPLATES_DIR": str(tmp_path / "none")})
    chosen = Settings.from_env({**env, "TEMPLATES_DIR": str(tmp_path), "TEMPLATE_STORE": "Mongo"})
    assert chosen.store.templates == "mongo"


def test_the_embedded_default_keeps_templates_in_files(tmp_path: Path) -> None:
    assert Settings.from_env({}).store.templates == "files"
    assert Settings.from_env({"TEMPLATES_DIR": str(tmp_path)}).store.templates == "files"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TEMPLATE_STORE": "redis"}, "TEMPLATE_STORE must be files, or the store"),
        ({"TEMPLATE_STORE": "mongo"}, "TEMPLATE_STORE=mongo needs MONGODB_URI"),
        (
            {"STORE": "postgres"},
            r"STORE names no installed store \(installed: memory, mongo, sqlite\)",
        ),
        (
            {"STORE": "memory", "TEMPLATE_STORE": "sqlite"},
            "TEMPLATE_STORE must be files, or the store",
        ),
    ],
)
def test_a_template_store_that_cannot_be_used_is_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_env(env)


def test_kafka_reliability_settings_have_safe_defaults_and_can_be_set() -> None:
    kafka = Settings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "OTP_HASH_KEY": "4b" * 32, "DELIVERY": "outbox"}
    ).kafka
    assert kafka is not None
    assert (kafka.assignor, kafka.metadata_refresh_ms, kafka.create_topics) == (
        "roundrobin", 5000, False,
    )  # fmt: skip
    assert len(kafka.own_topics) == 5
    tuned = Settings.from_env(
        {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "OTP_HASH_KEY": "4b" * 32, "DELIVERY": "outbox",
         "KAFKA_PARTITION_ASSIGNOR": "range", "KAFKA_CREATE_TOPICS": "true",
         "KAFKA_TOPIC_PARTITIONS": "12", "SHUTDOWN_GRACE_SECONDS": "5"}
    )  # fmt: skip
    assert tuned.kafka is not None and tuned.kafka.assignor == "range"
    assert (tuned.kafka.create_topics, tuned.kafka.topic_partitions) == (True, 12)
    assert tuned.kafka.shutdown_grace_seconds == 5
    with pytest.raises(SettingsError, match="KAFKA_PARTITION_ASSIGNOR"):
        Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b", "OTP_HASH_KEY": "4b" * 32,
                           "DELIVERY": "outbox", "KAFKA_PARTITION_ASSIGNOR": "sticky"})  # fmt: skip


def test_the_delivery_attempt_budget_is_a_policy_setting() -> None:
    assert Settings.from_env({}).codes.policy.max_delivery_attempts == 10
    tuned = Settings.from_env({"OTP_MAX_DELIVERY_ATTEMPTS": "3"})
    assert tuned.codes.policy.max_delivery_attempts == 3
    with pytest.raises(SettingsError, match="OTP_MAX_DELIVERY_ATTEMPTS must be at least 1"):
        Settings.from_env({"OTP_MAX_DELIVERY_ATTEMPTS": "0"})


def test_serving_beyond_loopback_needs_api_keys() -> None:
    with pytest.raises(SettingsError, match="HTTP_API_KEYS is required"):
        Settings.from_env({"HTTP_HOST": "0.0.0.0"})
    digest = "ab" * 32
    exposed = Settings.from_env({"HTTP_HOST": "0.0.0.0", "HTTP_API_KEYS": f"app-1:{digest}"})
    assert [(k.name, k.sha256) for k in exposed.http.api_keys] == [("app-1", digest)]
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert Settings.from_env({"HTTP_HOST": host}).http.api_keys == ()
    assert digest not in repr(exposed)


@pytest.mark.parametrize(
    "keys",
    [
        "app",
        "app:notahash",
        ":" + "ab" * 32,
        "a b:" + "ab" * 32,
        f"x:{'ab' * 32},x:{'cd' * 32}",
        f"x:{'ab' * 32}:admin",
        f"x:{'ab' * 32}:codes+root",
        f"x:{'ab' * 32}:",
    ],
)
def test_malformed_api_keys_are_refused(keys: str) -> None:
    with pytest.raises(SettingsError, match="HTTP_API_KEYS"):
        Settings.from_env({"HTTP_API_KEYS": keys})


def test_a_key_sends_codes_unless_its_entry_names_its_scopes() -> None:
    digest = "ab" * 32
    keys = f"engine:{digest},editor:{'cd' * 32}:templates,both:{'ef' * 32}:codes+templates"
    scopes = {k.name: k.scopes for k in Settings.from_env({"HTTP_API_KEYS": keys}).http.api_keys}
    assert scopes == {
        "engine": {"codes"},
        "editor": {"templates"},
        "both": {"codes", "templates"},
    }


def test_a_shared_deployment_writes_codes_to_files_only_when_told_to() -> None:
    shared = {"MONGODB_URI": "mongodb://db/otp", "OTP_HASH_KEY": "4b" * 32}
    with pytest.raises(SettingsError, match="SMTP_HOST and SMS_PROVIDERS not set"):
        Settings.from_env(shared)
    with pytest.raises(SettingsError, match="SMS_PROVIDERS not set"):
        Settings.from_env({**shared, "SMTP_HOST": "mail.bank.example"})
    assert Settings.from_env({**shared, "DELIVERY": "outbox"}).delivery.mode == "outbox"
    # The embedded default, on one machine, needs no such word.
    assert Settings.from_env({}).delivery.mode == "auto"


def test_kafka_security_settings_reach_every_client_and_stay_out_of_the_repr(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "kafka-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    base = {"KAFKA_BOOTSTRAP_SERVERS": "b:9093", "OTP_HASH_KEY": "4b" * 32, "DELIVERY": "outbox"}
    kafka = Settings.from_env(
        {
            **base,
            "SPRING_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "otp",
            "KAFKA_SASL_PASSWORD": "broker-secret",
            "KAFKA_SSL_CA_LOCATION": str(ca),
        }
    ).kafka
    assert kafka is not None
    assert kafka.client_config() == {
        "bootstrap.servers": "b:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "otp",
        "sasl.password": "broker-secret",
        "ssl.ca.location": str(ca),
    }
    assert "broker-secret" not in repr(kafka)
    jaas = Settings.from_env(
        {
            **base,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG": "org.apache.kafka.common.security.plain."
            'PlainLoginModule required username="engine" password="p\\"w";',
        }
    ).kafka
    assert jaas is not None
    assert (jaas.client_config()["sasl.username"], jaas.client_config()["sasl.password"]) == (
        "engine",
        'p\\"w',
    )
    with pytest.raises(SettingsError, match="needs KAFKA_SASL_USERNAME"):
        Settings.from_env({**base, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    with pytest.raises(SettingsError, match="KAFKA_SECURITY_PROTOCOL must be"):
        Settings.from_env({**base, "KAFKA_SECURITY_PROTOCOL": "TLS"})
