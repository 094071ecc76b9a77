"""Settings from the environment, with the FLOWX names accepted as aliases (CONTRACT §2, §5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import attrs

from domain.policy import OtpPolicy


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable, never its value."""


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip() != "":
            return name, value.strip()
    return None


def _text(env: Mapping[str, str], default: str, *names: str) -> str:
    found = _first(env, *names)
    return found[1] if found else default


def _optional(env: Mapping[str, str], *names: str) -> str | None:
    found = _first(env, *names)
    return found[1] if found else None


def _int(env: Mapping[str, str], default: int, *names: str) -> int:
    found = _first(env, *names)
    if found is None:
        return default
    try:
        return int(found[1])
    except ValueError:
        raise SettingsError(f"{found[0]} must be a whole number") from None


@attrs.frozen(kw_only=True)
class KafkaSettings:
    bootstrap_servers: str
    group_id: str = "otp-service"
    generate_in: str = "ai.flowx.plugin.notification.trigger.generate.otp.v1"
    generate_out: str = "ai.flowx.engine.receive.plugin.notification.generate.otp.results.v1"
    validate_in: str = "ai.flowx.plugin.notification.trigger.validate.otp.v1"
    validate_out: str = "ai.flowx.engine.receive.plugin.notification.validate.otp.results.v1"
    dead_letter: str = "ai.flowx.plugin.notification.otp.dlq.v1"
    message_max_bytes: int = 1_048_576
    max_in_flight: int = 64

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings | None:
        servers = _optional(env, "KAFKA_BOOTSTRAP_SERVERS", "SPRING_KAFKA_BOOTSTRAP_SERVERS")
        if servers is None:
            return None
        defaults = cls(bootstrap_servers=servers)
        return cls(
            bootstrap_servers=servers,
            group_id=_text(
                env, defaults.group_id, "KAFKA_CONSUMER_GROUP_ID", "SPRING_KAFKA_CONSUMER_GROUP_ID"
            ),
            generate_in=_text(env, defaults.generate_in, "KAFKA_TOPIC_OTP_GENERATE_IN"),
            generate_out=_text(env, defaults.generate_out, "KAFKA_TOPIC_OTP_GENERATE_OUT"),
            validate_in=_text(env, defaults.validate_in, "KAFKA_TOPIC_OTP_VALIDATE_IN"),
            validate_out=_text(env, defaults.validate_out, "KAFKA_TOPIC_OTP_VALIDATE_OUT"),
            dead_letter=_text(env, defaults.dead_letter, "KAFKA_TOPIC_OTP_DLQ"),
            message_max_bytes=_int(env, defaults.message_max_bytes, "KAFKA_MESSAGE_MAX_BYTES"),
            max_in_flight=_int(env, defaults.max_in_flight, "KAFKA_MAX_IN_FLIGHT"),
        )


@attrs.frozen(kw_only=True)
class Settings:
    policy: OtpPolicy
    default_language: str = "en"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_max_body_bytes: int = 65536
    sqlite_path: Path = Path("var/otp.sqlite3")
    outbox_dir: Path = Path("var/outbox")
    templates_dir: Path = Path("templates")
    hash_key: str | None = attrs.field(default=None, repr=False)
    hash_previous_keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    hash_key_file: Path = Path("var/otp-hash.key")
    mail_from_address: str = "no-reply@otp.local"
    mail_from_name: str | None = "OTP service"
    sms_default_region: str | None = None
    log_format: str = "console"
    log_level: str = "INFO"
    mongodb_uri: str | None = attrs.field(default=None, repr=False)
    mongodb_database: str | None = None
    mongodb_timeout_ms: int = 5000
    kafka: KafkaSettings | None = None
    processed_ttl: timedelta = timedelta(days=1)
    purge_interval_seconds: float = 60.0

    @property
    def uses_shared_state(self) -> bool:
        """True when several processes may share codes: then the hash key must be shared too."""
        return self.mongodb_uri is not None or self.kafka is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            policy = OtpPolicy(
                length=_int(env, 6, "OTP_LENGTH", "FLOWX_OTP_LENGTH"),
                ttl=timedelta(
                    seconds=_int(
                        env,
                        600,
                        "OTP_TTL_SECONDS",
                        "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS",
                        "FLOWX_OTP_EXPIRETIMEINSECONDS",
                    )
                ),
                max_attempts=_int(env, 5, "OTP_MAX_ATTEMPTS"),
                resend_cooldown=timedelta(seconds=_int(env, 30, "OTP_RESEND_COOLDOWN_SECONDS")),
                max_sends=_int(env, 5, "OTP_MAX_SENDS"),
                send_window=timedelta(seconds=_int(env, 600, "OTP_SEND_WINDOW_SECONDS")),
            )
        except ValueError as exc:
            if isinstance(exc, SettingsError):
                raise
            raise SettingsError(f"OTP policy out of range: {exc}") from None
        previous = _optional(env, "OTP_HASH_PREVIOUS_KEYS")
        settings = cls(
            policy=policy,
            default_language=_text(env, "en", "OTP_DEFAULT_LANGUAGE").lower(),
            http_host=_text(env, "127.0.0.1", "HTTP_HOST"),
            http_port=_int(env, 8080, "HTTP_PORT"),
            http_max_body_bytes=_int(env, 65536, "HTTP_MAX_BODY_BYTES"),
            sqlite_path=Path(_text(env, "var/otp.sqlite3", "SQLITE_PATH")),
            outbox_dir=Path(_text(env, "var/outbox", "OUTBOX_DIR")),
            templates_dir=Path(_text(env, "templates", "TEMPLATES_DIR")),
            hash_key=_optional(env, "OTP_HASH_KEY"),
            hash_previous_keys=tuple(k for k in (previous or "").split(",") if k.strip()),
            hash_key_file=Path(_text(env, "var/otp-hash.key", "OTP_HASH_KEY_FILE")),
            mail_from_address=_text(
                env, "no-reply@otp.local", "MAIL_FROM_ADDRESS", "APPLICATION_MAIL_FROM_EMAIL"
            ),
            mail_from_name=_text(
                env, "OTP service", "MAIL_FROM_NAME", "APPLICATION_MAIL_FROM_NAME"
            ),
            sms_default_region=_optional(env, "SMS_DEFAULT_REGION"),
            log_format=_text(env, "console", "LOG_FORMAT").lower(),
            log_level=_text(env, "INFO", "LOG_LEVEL").upper(),
            mongodb_uri=_optional(env, "MONGODB_URI", "SPRING_DATA_MONGODB_URI"),
            mongodb_database=_optional(env, "MONGODB_DATABASE"),
            mongodb_timeout_ms=_int(env, 5000, "MONGODB_TIMEOUT_MS"),
            kafka=KafkaSettings.from_env(env),
            processed_ttl=timedelta(seconds=_int(env, 86400, "PROCESSED_REQUEST_TTL_SECONDS")),
            purge_interval_seconds=_int(env, 60, "PURGE_INTERVAL_SECONDS"),
        )
        if settings.uses_shared_state and settings.hash_key is None:
            raise SettingsError(
                "OTP_HASH_KEY is required when MONGODB_URI or KAFKA_BOOTSTRAP_SERVERS is set: "
                "every worker must hash with the same key"
            )
        return settings
