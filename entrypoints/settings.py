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
from entrypoints.environment import Environment, SettingsError

__all__ = ["DeliverySettings", "KafkaSettings", "Settings", "SettingsError"]


@attrs.frozen(kw_only=True)
class KafkaSettings:
    bootstrap_servers: str
    group_id: str
    generate_in: str
    generate_out: str
    validate_in: str
    validate_out: str
    dead_letter: str
    notification_external_out: str
    # Lifecycle events (CloudEvents), when set.
    events: str | None
    message_max_bytes: int
    max_in_flight: int
    assignor: str
    group_protocol: str
    session_timeout_ms: int
    heartbeat_interval_ms: int
    max_poll_interval_ms: int
    headers_not_echoed: frozenset[str]
    unassigned_ready_seconds: int
    metadata_refresh_ms: int
    # The engine reads only topics matching this; reply topics outside it would go unread.
    engine_topic_pattern: str
    # How often librdkafka reports the consumer lag (otp_kafka_consumer_lag); 0 turns it off.
    statistics_interval_ms: int
    create_topics: bool
    topic_partitions: int
    topic_replication_factor: int
    # librdkafka's security settings (security.protocol, sasl.*, ssl.*), for every client.
    security: tuple[tuple[str, str], ...] = attrs.field(repr=False)

    @classmethod
    def defaults(cls, bootstrap_servers: str) -> KafkaSettings:
        """The declared defaults (entrypoints/environment.py), for ``bootstrap_servers``."""
        read = cls.from_environment(
            Environment.read({"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers})
        )
        if read is None:
            raise SettingsError("KAFKA_BOOTSTRAP_SERVERS names no broker")
        return read

    def client_config(self) -> dict[str, str]:
        """What every Kafka client of the service is given: the brokers and how to reach them."""
        return {"bootstrap.servers": self.bootstrap_servers, **dict(self.security)}

    @classmethod
    def from_environment(cls, e: Environment) -> KafkaSettings | None:
        if e.kafka_bootstrap_servers is None:
            return None
        return cls(
            bootstrap_servers=e.kafka_bootstrap_servers,
            group_id=e.kafka_consumer_group_id,
            generate_in=e.kafka_topic_otp_generate_in,
            generate_out=e.kafka_topic_otp_generate_out,
            validate_in=e.kafka_topic_otp_validate_in,
            validate_out=e.kafka_topic_otp_validate_out,
            dead_letter=e.kafka_topic_otp_dlq,
            notification_external_out=e.kafka_topic_notification_external_out,
            events=e.kafka_topic_otp_events,
            message_max_bytes=e.kafka_message_max_bytes,
            max_in_flight=e.kafka_max_in_flight,
            assignor=_assignor(e.kafka_partition_assignor),
            group_protocol=_group_protocol(e.kafka_group_protocol),
            session_timeout_ms=_positive(e.kafka_session_timeout_ms, "KAFKA_SESSION_TIMEOUT_MS"),
            heartbeat_interval_ms=_heartbeat(e),
            max_poll_interval_ms=_positive(
                e.kafka_max_poll_interval_ms, "KAFKA_MAX_POLL_INTERVAL_MS"
            ),
            headers_not_echoed=frozenset(
                name.strip() for name in e.kafka_headers_not_echoed.split(",") if name.strip()
            ),
            unassigned_ready_seconds=_positive(
                e.kafka_unassigned_ready_seconds, "KAFKA_UNASSIGNED_READY_SECONDS"
            ),
            metadata_refresh_ms=e.kafka_metadata_refresh_ms,
            engine_topic_pattern=_regex(e.engine_topic_pattern, "ENGINE_TOPIC_PATTERN"),
            statistics_interval_ms=e.kafka_statistics_interval_ms,
            create_topics=e.kafka_create_topics,
            topic_partitions=e.kafka_topic_partitions,
            topic_replication_factor=e.kafka_topic_replication_factor,
            security=kafka_security(e),
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
JAAS_FIELD = re.compile(r'\b(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"')


def kafka_security(e: Environment) -> tuple[tuple[str, str], ...]:
    """The client's security settings; ``SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG`` (a Java
    JAAS line) gives the SASL username and password when the plain variables are not set."""
    protocol = e.kafka_security_protocol.upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(
            f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}"
        )
    config: dict[str, str] = {"security.protocol": protocol}
    if protocol.startswith("SASL"):
        mechanism = e.kafka_sasl_mechanism.upper()
        if mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
        jaas = dict(JAAS_FIELD.findall(e.kafka_sasl_jaas_config or ""))
        username = e.kafka_sasl_username or jaas.get("username")
        password = e.kafka_sasl_password or jaas.get("password")
        if username is None or password is None:
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (or SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG)"
            )
        config.update(
            {"sasl.mechanism": mechanism, "sasl.username": username, "sasl.password": password}
        )
    tls = {
        "ssl.ca.location": e.kafka_ssl_ca_location,
        "ssl.certificate.location": e.kafka_ssl_certificate_location,
        "ssl.key.location": e.kafka_ssl_key_location,
        "ssl.key.password": e.kafka_ssl_key_password,
        "ssl.endpoint.identification.algorithm": e.kafka_ssl_endpoint_identification_algorithm,
    }
    config.update({name: value for name, value in tls.items() if value is not None})
    return tuple(config.items())


ASSIGNORS = ("roundrobin", "range", "cooperative-sticky")


GROUP_PROTOCOLS = ("classic", "consumer")


def _group_protocol(name: str) -> str:
    if name not in GROUP_PROTOCOLS:
        raise SettingsError(f"KAFKA_GROUP_PROTOCOL must be one of {', '.join(GROUP_PROTOCOLS)}")
    return name


def _positive(value: int, variable: str) -> int:
    if value <= 0:
        raise SettingsError(f"{variable} must be positive")
    return value


def _heartbeat(e: Environment) -> int:
    heartbeat = _positive(e.kafka_heartbeat_interval_ms, "KAFKA_HEARTBEAT_INTERVAL_MS")
    if heartbeat * 3 > e.kafka_session_timeout_ms:
        raise SettingsError(
            "KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS"
        )
    return heartbeat


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


def hash_keys(e: Environment) -> tuple[NamedKey, ...]:
    """``OTP_HASH_KEYS`` (``id:key``, newest first), else ``OTP_HASH_KEY`` and the retired
    ``OTP_HASH_PREVIOUS_KEYS``; empty when none is set (the embedded default's key file)."""
    named = e.otp_hash_keys
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
    single = e.otp_hash_key
    if single is None:
        return ()
    previous = e.otp_hash_previous_keys or ""
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


def template_store_kind(chosen: str | None, templates_dir: Path | None, mongo: bool) -> str:
    """``TEMPLATE_STORE``; by default the folder TEMPLATES_DIR names when it exists, else MongoDB
    when configured, else the templates bundled with the package.

    Codes and templates are separate ports: keeping codes in MongoDB does not force templates
    there, and templates in MongoDB do not need codes there either (both need MONGODB_URI).
    """
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


def test_codes(e: Environment, length: int) -> TestCodes | None:
    code, recipients = e.otp_test_code, e.otp_test_recipients
    if code is None and recipients is None:
        return None
    if code is None or recipients is None:
        raise SettingsError("OTP_TEST_CODE and OTP_TEST_RECIPIENTS go together")
    if not (code.isascii() and code.isdigit() and len(code) == length):
        raise SettingsError(f"OTP_TEST_CODE must be {length} digits (OTP_LENGTH)")
    return TestCodes(
        code, _regex(recipients, "OTP_TEST_RECIPIENTS"), e.otp_test_codes_allow_exposed
    )


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


def _regex(raw: str, variable: str) -> str:
    try:
        re.compile(raw)
    except re.error as exc:
        raise SettingsError(f"{variable} is not a regular expression: {exc}") from None
    return raw


def otlp_configured(e: Environment) -> bool:
    """Traces are exported only when a collector is named (the OpenTelemetry variables; the
    exporter reads the rest of its OTEL_EXPORTER_OTLP_* settings itself)."""
    endpoint = e.otel_exporter_otlp_traces_endpoint or e.otel_exporter_otlp_endpoint
    return endpoint is not None and e.otel_traces_exporter.lower() != "none"


@attrs.frozen(kw_only=True)
class Settings:
    policy: OtpPolicy
    default_language: str
    http_host: str
    http_port: int
    http_max_body_bytes: int
    http_header_timeout_seconds: float
    http_body_timeout_seconds: float
    http_max_connections: int
    http_workers: int
    http_api_keys: tuple[ApiKey, ...] = attrs.field(repr=False)
    sqlite_path: Path
    outbox_dir: Path
    templates_dir: Path
    template_store: str = attrs.field(validator=attrs.validators.in_(TEMPLATE_STORES))
    # Newest first; empty means the embedded default's generated key file.
    hash_keys: tuple[NamedKey, ...] = attrs.field(repr=False)
    hash_key_file: Path
    mail_from_address: str
    mail_from_name: str | None
    sms_default_region: str | None
    log_format: str
    log_level: str
    mongodb_uri: str | None = attrs.field(repr=False)
    mongodb_database: str | None
    mongodb_timeout_ms: int
    kafka: KafkaSettings | None
    delivery: DeliverySettings
    abuse: AbuseSettings
    # "outbox" says so when codes of a shared deployment may be written to files.
    delivery_mode: str
    processed_ttl: timedelta
    purge_interval_seconds: float
    shutdown_grace_seconds: float
    # Fixed codes for test recipients (the engine's end-to-end tests); never in production.
    test_codes: TestCodes | None
    # True when the keys came from OTP_HASH_KEYS (named), False for OTP_HASH_KEY.
    hash_keys_named: bool
    # Spans go to an OTLP collector when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set.
    otlp_traces: bool

    @property
    def uses_shared_state(self) -> bool:
        """True when several processes may share codes: then the hash key must be shared too."""
        return self.mongodb_uri is not None or self.kafka is not None

    @classmethod
    def defaults(cls) -> Settings:
        """Every setting at its declared default (the embedded default)."""
        return cls.from_env({})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings of ``env`` (os.environ), declared in entrypoints/environment.py."""
        e = Environment.read(env)
        policy = _policy(e)
        templates_dir = Path(e.templates_dir) if e.templates_dir else BUNDLED_TEMPLATES
        named_folder = Path(e.templates_dir) if e.templates_dir else None
        settings = cls(
            policy=policy,
            default_language=e.otp_default_language.lower(),
            http_host=e.http_host,
            http_port=e.http_port,
            http_max_body_bytes=e.http_max_body_bytes,
            http_header_timeout_seconds=e.http_header_timeout_seconds,
            http_body_timeout_seconds=e.http_body_timeout_seconds,
            http_max_connections=e.http_max_connections,
            http_workers=e.http_workers,
            http_api_keys=api_keys(e.http_api_keys),
            sqlite_path=Path(e.sqlite_path),
            outbox_dir=Path(e.outbox_dir),
            templates_dir=templates_dir,
            template_store=template_store_kind(
                e.template_store, named_folder, e.mongodb_uri is not None
            ),
            hash_keys=hash_keys(e),
            hash_key_file=Path(e.otp_hash_key_file),
            mail_from_address=e.mail_from_address,
            mail_from_name=e.mail_from_name,
            sms_default_region=e.sms_default_region,
            log_format=e.log_format.lower(),
            log_level=e.log_level.upper(),
            mongodb_uri=e.mongodb_uri,
            mongodb_database=e.mongodb_database,
            mongodb_timeout_ms=e.mongodb_timeout_ms,
            kafka=KafkaSettings.from_environment(e),
            delivery=DeliverySettings.from_environment(e),
            abuse=AbuseSettings.from_environment(e),
            delivery_mode=e.delivery.lower(),
            processed_ttl=timedelta(seconds=e.processed_request_ttl_seconds),
            purge_interval_seconds=e.purge_interval_seconds,
            shutdown_grace_seconds=e.shutdown_grace_seconds,
            otlp_traces=otlp_configured(e),
            test_codes=test_codes(e, policy.length),
            hash_keys_named=e.otp_hash_keys is not None,
        )
        _check_together(settings)
        return settings


def _policy(e: Environment) -> OtpPolicy:
    try:
        return OtpPolicy(
            length=e.otp_length,
            ttl=timedelta(seconds=e.otp_ttl_seconds),
            max_attempts=e.otp_max_attempts,
            resend_cooldown=timedelta(seconds=e.otp_resend_cooldown_seconds),
            max_sends=e.otp_max_sends,
            send_window=timedelta(seconds=e.otp_send_window_seconds),
            max_delivery_attempts=e.otp_max_delivery_attempts,
            max_failures_per_day=e.otp_max_failures_per_day,
            max_failures_per_month=e.otp_max_failures_per_month,
        )
    except ValueError as exc:
        raise SettingsError(f"OTP policy out of range: {exc}") from None


def _check_together(settings: Settings) -> None:
    """What must hold between settings (each alone was checked as it was read)."""
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
