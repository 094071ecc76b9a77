"""Settings from the environment, with the FLOWX names accepted as aliases (CONTRACT §2, §5)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import attrs

from adapters.codes import MIN_KEY_BYTES, NamedKey
from adapters.templates.file_store import BUNDLED_TEMPLATES
from domain.policy import OtpPolicy
from entrypoints.abuse_settings import AbuseSettings
from entrypoints.delivery_settings import DeliverySettings
from entrypoints.settings_env import SettingsError, env_bool, env_float, env_int, optional, text

__all__ = ["DeliverySettings", "KafkaSettings", "Settings", "SettingsError"]


@attrs.frozen(kw_only=True)
class KafkaSettings:
    bootstrap_servers: str
    group_id: str = "otp-service"
    generate_in: str = "ai.flowx.plugin.notification.trigger.generate.otp.v1"
    generate_out: str = "ai.flowx.engine.receive.plugin.notification.generate.otp.results.v1"
    validate_in: str = "ai.flowx.plugin.notification.trigger.validate.otp.v1"
    validate_out: str = "ai.flowx.engine.receive.plugin.notification.validate.otp.results.v1"
    dead_letter: str = "ai.flowx.plugin.notification.otp.dlq.v1"
    notification_external_out: str = "ai.flowx.plugin.notification.external.out.v1"
    # Lifecycle events (CloudEvents), when set.
    events: str | None = None
    message_max_bytes: int = 1_048_576
    max_in_flight: int = 64
    assignor: str = "roundrobin"
    metadata_refresh_ms: int = 5000
    # The engine reads only topics matching this; reply topics outside it would go unread.
    engine_topic_pattern: str = r"ai\.flowx\.engine\.receive\..*"
    # How often librdkafka reports the consumer lag (otp_kafka_consumer_lag); 0 turns it off.
    statistics_interval_ms: int = 5000
    create_topics: bool = False
    topic_partitions: int = -1
    topic_replication_factor: int = -1
    # librdkafka's security settings (security.protocol, sasl.*, ssl.*), for every client.
    security: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)

    def client_config(self) -> dict[str, str]:
        """What every Kafka client of the service is given: the brokers and how to reach them."""
        return {"bootstrap.servers": self.bootstrap_servers, **dict(self.security)}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSettings | None:
        servers = optional(env, "KAFKA_BOOTSTRAP_SERVERS", "SPRING_KAFKA_BOOTSTRAP_SERVERS")
        if servers is None:
            return None
        defaults = cls(bootstrap_servers=servers)
        return cls(
            bootstrap_servers=servers,
            group_id=text(
                env, defaults.group_id, "KAFKA_CONSUMER_GROUP_ID", "SPRING_KAFKA_CONSUMER_GROUP_ID"
            ),
            generate_in=text(env, defaults.generate_in, "KAFKA_TOPIC_OTP_GENERATE_IN"),
            generate_out=text(env, defaults.generate_out, "KAFKA_TOPIC_OTP_GENERATE_OUT"),
            validate_in=text(env, defaults.validate_in, "KAFKA_TOPIC_OTP_VALIDATE_IN"),
            validate_out=text(env, defaults.validate_out, "KAFKA_TOPIC_OTP_VALIDATE_OUT"),
            dead_letter=text(env, defaults.dead_letter, "KAFKA_TOPIC_OTP_DLQ"),
            notification_external_out=text(
                env, defaults.notification_external_out, "KAFKA_TOPIC_NOTIFICATION_EXTERNAL_OUT"
            ),
            events=optional(env, "KAFKA_TOPIC_OTP_EVENTS"),
            message_max_bytes=env_int(env, defaults.message_max_bytes, "KAFKA_MESSAGE_MAX_BYTES"),
            max_in_flight=env_int(env, defaults.max_in_flight, "KAFKA_MAX_IN_FLIGHT"),
            assignor=_assignor(text(env, defaults.assignor, "KAFKA_PARTITION_ASSIGNOR")),
            metadata_refresh_ms=env_int(
                env, defaults.metadata_refresh_ms, "KAFKA_METADATA_REFRESH_MS"
            ),
            engine_topic_pattern=_pattern(
                text(env, defaults.engine_topic_pattern, "ENGINE_TOPIC_PATTERN")
            ),
            statistics_interval_ms=env_int(
                env, defaults.statistics_interval_ms, "KAFKA_STATISTICS_INTERVAL_MS"
            ),
            create_topics=env_bool(env, defaults.create_topics, "KAFKA_CREATE_TOPICS"),
            topic_partitions=env_int(env, defaults.topic_partitions, "KAFKA_TOPIC_PARTITIONS"),
            topic_replication_factor=env_int(
                env, defaults.topic_replication_factor, "KAFKA_TOPIC_REPLICATION_FACTOR"
            ),
            security=kafka_security(env),
        )

    def unread_reply_topics(self) -> list[str]:
        """Reply topics the engine would never read: outside ENGINE_TOPIC_PATTERN."""
        pattern = re.compile(self.engine_topic_pattern)
        replies = (self.generate_out, self.validate_out)
        return [topic for topic in replies if pattern.fullmatch(topic) is None]

    @property
    def own_topics(self) -> tuple[str, ...]:
        """The topics this service reads or writes, created at start with KAFKA_CREATE_TOPICS."""
        events = (self.events,) if self.events else ()
        return (
            self.generate_in, self.generate_out, self.validate_in, self.validate_out,
            self.dead_letter, *events,
        )  # fmt: skip


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# librdkafka property: our variable (the Spring names FLOWX deployments use, where they exist).
KAFKA_SECURITY_VARIABLES = {
    "ssl.ca.location": ("KAFKA_SSL_CA_LOCATION",),
    "ssl.certificate.location": ("KAFKA_SSL_CERTIFICATE_LOCATION",),
    "ssl.key.location": ("KAFKA_SSL_KEY_LOCATION",),
    "ssl.key.password": ("KAFKA_SSL_KEY_PASSWORD", "SPRING_KAFKA_SSL_KEY_PASSWORD"),
    "ssl.endpoint.identification.algorithm": ("KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM",),
}
JAAS_FIELD = re.compile(r'\b(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"')


def kafka_security(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The client's security settings; ``SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG`` (a Java
    JAAS line) gives the SASL username and password when the plain variables are not set."""
    protocol = text(env, "PLAINTEXT", "KAFKA_SECURITY_PROTOCOL", "SPRING_KAFKA_SECURITY_PROTOCOL")
    protocol = protocol.upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(
            f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}"
        )
    config: dict[str, str] = {"security.protocol": protocol}
    if protocol.startswith("SASL"):
        mechanism = text(
            env, "PLAIN", "KAFKA_SASL_MECHANISM", "SPRING_KAFKA_PROPERTIES_SASL_MECHANISM"
        ).upper()
        if mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
        jaas = dict(
            JAAS_FIELD.findall(optional(env, "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG") or "")
        )
        username = optional(env, "KAFKA_SASL_USERNAME") or jaas.get("username")
        password = optional(env, "KAFKA_SASL_PASSWORD") or jaas.get("password")
        if username is None or password is None:
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (or SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG)"
            )
        config.update(
            {"sasl.mechanism": mechanism, "sasl.username": username, "sasl.password": password}
        )
    for name, variables in KAFKA_SECURITY_VARIABLES.items():
        value = optional(env, *variables)
        if value is not None:
            config[name] = value
    return tuple(config.items())


ASSIGNORS = ("roundrobin", "range", "cooperative-sticky")


def _assignor(name: str) -> str:
    if name not in ASSIGNORS:
        raise SettingsError(f"KAFKA_PARTITION_ASSIGNOR must be one of {', '.join(ASSIGNORS)}")
    return name


TEMPLATE_STORES = ("files", "mongo")
API_KEY_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@attrs.frozen
class ApiKey:
    """A caller of the HTTP API: its name (in logs and limits) and the SHA-256 of its key."""

    name: str
    sha256: str = attrs.field(repr=False)


def api_keys(raw: str | None) -> tuple[ApiKey, ...]:
    """``HTTP_API_KEYS``: comma-separated ``name:sha256hex`` entries."""
    keys = []
    for entry in (raw or "").split(","):
        if not entry.strip():
            continue
        name, _, digest = entry.strip().partition(":")
        if not API_KEY_NAME.fullmatch(name) or not SHA256_HEX.fullmatch(digest):
            raise SettingsError(
                "HTTP_API_KEYS entries must be name:sha256hex (the SHA-256 of the key, 64 hex "
                "digits; names of letters, digits, '.', '_' or '-')"
            )
        keys.append(ApiKey(name, digest.lower()))
    if len({k.name for k in keys}) != len(keys):
        raise SettingsError("HTTP_API_KEYS names each caller once")
    return tuple(keys)


HEX_KEY = re.compile(r"(?:[0-9a-fA-F]{2})+")
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")


def decode_key(raw: str, variable: str) -> bytes:
    """A hashing key given as hex or base64 (standard or URL-safe), of at least 256 bits."""
    raw = raw.strip()
    secret: bytes | None = None
    if HEX_KEY.fullmatch(raw):
        secret = bytes.fromhex(raw)
    else:
        padded = raw + "=" * (-len(raw) % 4)
        try:
            secret = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            secret = None
    if secret is None or len(secret) < MIN_KEY_BYTES:
        raise SettingsError(
            f"{variable} needs keys of at least {MIN_KEY_BYTES * 8} random bits, written as hex "
            f"({MIN_KEY_BYTES * 2} digits) or base64 (e.g. the output of "
            f"'openssl rand -base64 {MIN_KEY_BYTES}')"
        )
    return secret


def hash_keys(env: Mapping[str, str]) -> tuple[NamedKey, ...]:
    """``OTP_HASH_KEYS`` (``id:key``, newest first), else ``OTP_HASH_KEY`` and the retired
    ``OTP_HASH_PREVIOUS_KEYS``; empty when none is set (the embedded default's key file)."""
    named = optional(env, "OTP_HASH_KEYS")
    if named is not None:
        keys = []
        for entry in named.split(","):
            if not entry.strip():
                continue
            key_id, _, raw = entry.strip().partition(":")
            if not KEY_ID.fullmatch(key_id) or not raw:
                raise SettingsError(
                    "OTP_HASH_KEYS entries must be id:key (ids of letters, digits, '.', '_' or "
                    "'-', at most 32 characters)"
                )
            keys.append(NamedKey(key_id, decode_key(raw, "OTP_HASH_KEYS")))
        if len({k.id for k in keys}) != len(keys):
            raise SettingsError("OTP_HASH_KEYS names each key once")
        if not keys:
            raise SettingsError("OTP_HASH_KEYS holds no key")
        return tuple(keys)
    single = optional(env, "OTP_HASH_KEY")
    if single is None:
        return ()
    previous = optional(env, "OTP_HASH_PREVIOUS_KEYS") or ""
    return tuple(
        NamedKey.unnamed(decode_key(raw, variable))
        for raw, variable in (
            (single, "OTP_HASH_KEY"),
            *((p, "OTP_HASH_PREVIOUS_KEYS") for p in previous.split(",") if p.strip()),
        )
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, keys: tuple[ApiKey, ...]) -> None:
    """Serving beyond loopback needs callers' keys: anyone who reaches the API could otherwise
    ask for codes to be sent anywhere and check them."""
    if not keys and not is_loopback(host):
        raise SettingsError(
            f"HTTP_API_KEYS is required to serve on {host}, which is not a loopback address"
        )


def template_store_kind(env: Mapping[str, str], templates_dir: Path | None, mongo: bool) -> str:
    """``TEMPLATE_STORE``; by default the folder TEMPLATES_DIR names when it exists, else MongoDB
    when configured, else the templates bundled with the package.

    Codes and templates are separate ports: keeping codes in MongoDB does not force templates
    there, and templates in MongoDB do not need codes there either (both need MONGODB_URI).
    """
    chosen = optional(env, "TEMPLATE_STORE")
    if chosen is None:
        named = templates_dir is not None and templates_dir.is_dir()
        return "mongo" if mongo and not named else "files"
    kind = chosen.strip().lower()
    if kind not in TEMPLATE_STORES:
        raise SettingsError(f"TEMPLATE_STORE must be one of {', '.join(TEMPLATE_STORES)}")
    if kind == "mongo" and not mongo:
        raise SettingsError("TEMPLATE_STORE=mongo needs MONGODB_URI")
    return kind


DELIVERY_MODES = ("auto", "outbox")


def check_delivery(settings: Settings) -> None:
    """Codes of a shared deployment go to files only when asked for: a missing SMTP_HOST or
    SMS_PROVIDERS must not turn into codes in a folder and replies saying they were sent."""
    if settings.delivery_mode not in DELIVERY_MODES:
        raise SettingsError(f"DELIVERY must be one of {', '.join(DELIVERY_MODES)}")
    missing = [
        name
        for name, configured in (
            ("SMTP_HOST", settings.delivery.smtp is not None),
            ("SMS_PROVIDERS", bool(settings.delivery.sms_providers)),
        )
        if not configured
    ]
    if settings.uses_shared_state and missing and settings.delivery_mode != "outbox":
        raise SettingsError(
            f"{' and '.join(missing)} not set while MONGODB_URI or KAFKA_BOOTSTRAP_SERVERS is: "
            "set them, or set DELIVERY=outbox to write those codes to OUTBOX_DIR on purpose"
        )


@attrs.frozen
class TestCodes:
    """OTP_TEST_CODE for recipients matching OTP_TEST_RECIPIENTS: for the engine's own tests."""

    __test__ = False  # not a pytest class

    code: str = attrs.field(repr=False)
    recipients: str
    allow_exposed: bool = False


def test_codes(env: Mapping[str, str], length: int) -> TestCodes | None:
    code, recipients = optional(env, "OTP_TEST_CODE"), optional(env, "OTP_TEST_RECIPIENTS")
    if code is None and recipients is None:
        return None
    if code is None or recipients is None:
        raise SettingsError("OTP_TEST_CODE and OTP_TEST_RECIPIENTS go together")
    if not (code.isascii() and code.isdigit() and len(code) == length):
        raise SettingsError(f"OTP_TEST_CODE must be {length} digits (OTP_LENGTH)")
    try:
        re.compile(recipients)
    except re.error as exc:
        raise SettingsError(f"OTP_TEST_RECIPIENTS is not a regular expression: {exc}") from None
    return TestCodes(code, recipients, env_bool(env, False, "OTP_TEST_CODES_ALLOW_EXPOSED"))


def check_test_codes(settings: Settings, host: str) -> None:
    """Fixed codes are refused with a production hash key (one whose id does not start with
    ``test``, or an unnamed OTP_HASH_KEY) and beyond loopback unless explicitly allowed."""
    test = settings.test_codes
    if test is None:
        return
    production = [key.id for key in settings.hash_keys if not key.id.startswith("test")]
    if settings.hash_keys and (production or not settings.hash_keys_named):
        raise SettingsError(
            "OTP_TEST_CODE is refused with a production hash key: use OTP_HASH_KEYS ids starting "
            "with 'test' (or none, for the embedded default's local key)"
        )
    if not is_loopback(host) and not test.allow_exposed:
        raise SettingsError(
            f"OTP_TEST_CODE is refused on {host}, which is not a loopback address, unless "
            "OTP_TEST_CODES_ALLOW_EXPOSED=true"
        )


def _pattern(raw: str) -> str:
    try:
        re.compile(raw)
    except re.error as exc:
        raise SettingsError(f"ENGINE_TOPIC_PATTERN is not a regular expression: {exc}") from None
    return raw


def otlp_configured(env: Mapping[str, str]) -> bool:
    """Traces are exported only when a collector is named (the OpenTelemetry variables; the
    exporter reads the rest of its OTEL_EXPORTER_OTLP_* settings itself)."""
    endpoint = optional(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    return endpoint is not None and text(env, "otlp", "OTEL_TRACES_EXPORTER").lower() != "none"


@attrs.frozen(kw_only=True)
class Settings:
    policy: OtpPolicy
    default_language: str = "en"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_max_body_bytes: int = 65536
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 10.0
    http_max_connections: int = 1000
    http_workers: int = 1
    http_api_keys: tuple[ApiKey, ...] = attrs.field(default=(), repr=False)
    sqlite_path: Path = Path("var/otp.sqlite3")
    outbox_dir: Path = Path("var/outbox")
    templates_dir: Path = BUNDLED_TEMPLATES
    template_store: str = attrs.field(
        default="files", validator=attrs.validators.in_(TEMPLATE_STORES)
    )
    # Newest first; empty means the embedded default's generated key file.
    hash_keys: tuple[NamedKey, ...] = attrs.field(default=(), repr=False)
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
    delivery: DeliverySettings = DeliverySettings()
    abuse: AbuseSettings = AbuseSettings()
    # "outbox" says so when codes of a shared deployment may be written to files.
    delivery_mode: str = "auto"
    processed_ttl: timedelta = timedelta(days=1)
    purge_interval_seconds: float = 60.0
    shutdown_grace_seconds: float = 30.0
    # Fixed codes for test recipients (the engine's end-to-end tests); never in production.
    test_codes: TestCodes | None = None
    # True when the keys came from OTP_HASH_KEYS (named), False for OTP_HASH_KEY.
    hash_keys_named: bool = True
    # Spans go to an OTLP collector when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set.
    otlp_traces: bool = False

    @property
    def uses_shared_state(self) -> bool:
        """True when several processes may share codes: then the hash key must be shared too."""
        return self.mongodb_uri is not None or self.kafka is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            policy = OtpPolicy(
                length=env_int(env, 6, "OTP_LENGTH", "FLOWX_OTP_LENGTH"),
                ttl=timedelta(
                    seconds=env_int(
                        env,
                        600,
                        "OTP_TTL_SECONDS",
                        "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS",
                        "FLOWX_OTP_EXPIRETIMEINSECONDS",
                    )
                ),
                max_attempts=env_int(env, 5, "OTP_MAX_ATTEMPTS"),
                resend_cooldown=timedelta(seconds=env_int(env, 30, "OTP_RESEND_COOLDOWN_SECONDS")),
                max_sends=env_int(env, 5, "OTP_MAX_SENDS"),
                send_window=timedelta(seconds=env_int(env, 600, "OTP_SEND_WINDOW_SECONDS")),
                max_delivery_attempts=env_int(env, 10, "OTP_MAX_DELIVERY_ATTEMPTS"),
                max_failures_per_day=env_int(env, 20, "OTP_MAX_FAILURES_PER_DAY"),
                max_failures_per_month=env_int(env, 100, "OTP_MAX_FAILURES_PER_MONTH"),
            )
        except ValueError as exc:
            if isinstance(exc, SettingsError):
                raise
            raise SettingsError(f"OTP policy out of range: {exc}") from None
        folder = optional(env, "TEMPLATES_DIR")
        templates_dir = Path(folder) if folder is not None else BUNDLED_TEMPLATES
        mongodb_uri = optional(env, "MONGODB_URI", "SPRING_DATA_MONGODB_URI")
        settings = cls(
            policy=policy,
            default_language=text(env, "en", "OTP_DEFAULT_LANGUAGE").lower(),
            http_host=text(env, "127.0.0.1", "HTTP_HOST"),
            http_port=env_int(env, 8080, "HTTP_PORT"),
            http_max_body_bytes=env_int(env, 65536, "HTTP_MAX_BODY_BYTES"),
            http_header_timeout_seconds=env_float(env, 10.0, "HTTP_HEADER_TIMEOUT_SECONDS"),
            http_body_timeout_seconds=env_float(env, 10.0, "HTTP_BODY_TIMEOUT_SECONDS"),
            http_max_connections=env_int(env, 1000, "HTTP_MAX_CONNECTIONS"),
            http_workers=env_int(env, 1, "HTTP_WORKERS"),
            http_api_keys=api_keys(optional(env, "HTTP_API_KEYS")),
            sqlite_path=Path(text(env, "var/otp.sqlite3", "SQLITE_PATH")),
            outbox_dir=Path(text(env, "var/outbox", "OUTBOX_DIR")),
            templates_dir=templates_dir,
            template_store=template_store_kind(
                env, templates_dir if folder is not None else None, mongodb_uri is not None
            ),
            hash_keys=hash_keys(env),
            hash_key_file=Path(text(env, "var/otp-hash.key", "OTP_HASH_KEY_FILE")),
            mail_from_address=text(
                env, "no-reply@otp.local", "MAIL_FROM_ADDRESS", "APPLICATION_MAIL_FROM_EMAIL"
            ),
            mail_from_name=text(env, "OTP service", "MAIL_FROM_NAME", "APPLICATION_MAIL_FROM_NAME"),
            sms_default_region=optional(env, "SMS_DEFAULT_REGION"),
            log_format=text(env, "console", "LOG_FORMAT").lower(),
            log_level=text(env, "INFO", "LOG_LEVEL").upper(),
            mongodb_uri=mongodb_uri,
            mongodb_database=optional(env, "MONGODB_DATABASE"),
            mongodb_timeout_ms=env_int(env, 5000, "MONGODB_TIMEOUT_MS"),
            kafka=KafkaSettings.from_env(env),
            delivery=DeliverySettings.from_env(env),
            abuse=AbuseSettings.from_env(env),
            delivery_mode=text(env, "auto", "DELIVERY").lower(),
            processed_ttl=timedelta(seconds=env_int(env, 86400, "PROCESSED_REQUEST_TTL_SECONDS")),
            purge_interval_seconds=env_int(env, 60, "PURGE_INTERVAL_SECONDS"),
            shutdown_grace_seconds=env_int(env, 30, "SHUTDOWN_GRACE_SECONDS"),
            otlp_traces=otlp_configured(env),
            test_codes=test_codes(env, policy.length),
            hash_keys_named=optional(env, "OTP_HASH_KEYS") is not None,
        )
        check_exposure(settings.http_host, settings.http_api_keys)
        check_test_codes(settings, settings.http_host)
        check_delivery(settings)
        if not 1 <= settings.http_workers <= 64:
            raise SettingsError("HTTP_WORKERS must be 1 to 64")
        if settings.uses_shared_state and not settings.hash_keys:
            raise SettingsError(
                "OTP_HASH_KEYS (or OTP_HASH_KEY) is required when MONGODB_URI or "
                "KAFKA_BOOTSTRAP_SERVERS is set: every worker must hash with the same keys"
            )
        return settings
