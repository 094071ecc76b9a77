"""Every environment variable the service reads, declared once (pydantic-settings): its name,
the names of the process engine's plugin accepted as aliases, its type, its default and what it
means. ``Settings.from_env`` builds the service's settings from these values and checks how they
go together; ``otp config docs`` writes docs/configuration.md from these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from adapters.recipients import DENIED_BY_DEFAULT
from domain.limits import SendCaps

_CAPS = SendCaps()


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable, never its value."""


TOPIC_DEFAULTS = {
    "generate_in": "ai.flowx.plugin.notification.trigger.generate.otp.v1",
    "generate_out": "ai.flowx.engine.receive.plugin.notification.generate.otp.results.v1",
    "validate_in": "ai.flowx.plugin.notification.trigger.validate.otp.v1",
    "validate_out": "ai.flowx.engine.receive.plugin.notification.validate.otp.results.v1",
    "dead_letter": "ai.flowx.plugin.notification.otp.dlq.v1",
    "notification_external_out": "ai.flowx.plugin.notification.external.out.v1",
}


def var(*names: str, default: Any, doc: str, shown: str | None = None, group: str) -> Any:
    """One variable: its name first, then its aliases (the first one set wins)."""
    return Field(
        default,
        validation_alias=AliasChoices(*names),
        description=doc,
        json_schema_extra={"names": list(names), "shown": shown, "group": group},
    )


class Environment(BaseSettings):
    """The variables, as given (strings become numbers and booleans here); empty means unset."""

    model_config = SettingsConfigDict(
        case_sensitive=True, extra="ignore", str_strip_whitespace=True, frozen=True
    )

    # --- codes -------------------------------------------------------------------------------
    otp_length: int = var(
        "OTP_LENGTH", "FLOWX_OTP_LENGTH", default=6, group="codes", doc="digits per code, 4–10"
    )
    otp_ttl_seconds: int = var(
        "OTP_TTL_SECONDS",
        "FLOWX_OTP_EXPIRE_TIME_IN_SECONDS",
        "FLOWX_OTP_EXPIRETIMEINSECONDS",
        default=600,
        group="codes",
        doc="code lifetime",
    )
    otp_max_attempts: int = var(
        "OTP_MAX_ATTEMPTS", default=5, group="codes", doc="wrong tries before the code is burnt"
    )
    otp_resend_cooldown_seconds: int = var(
        "OTP_RESEND_COOLDOWN_SECONDS",
        default=30,
        group="codes",
        doc="wait between sends per (clientId, channel)",
    )
    otp_max_sends: int = var(
        "OTP_MAX_SENDS",
        default=5,
        group="codes",
        doc="delivered sends per (clientId, channel) per `OTP_SEND_WINDOW_SECONDS`",
    )
    otp_send_window_seconds: int = var(
        "OTP_SEND_WINDOW_SECONDS",
        default=600,
        group="codes",
        doc="the window of `OTP_MAX_SENDS` and `OTP_MAX_DELIVERY_ATTEMPTS`",
    )
    otp_max_delivery_attempts: int = var(
        "OTP_MAX_DELIVERY_ATTEMPTS",
        default=10,
        group="codes",
        doc="delivery attempts, delivered or failed, per (clientId, channel) per window",
    )
    otp_max_failures_per_day: int = var(
        "OTP_MAX_FAILURES_PER_DAY",
        default=20,
        group="codes",
        doc="wrong tries per (clientId, channel) per 24 h, across codes (1–100)",
    )
    otp_max_failures_per_month: int = var(
        "OTP_MAX_FAILURES_PER_MONTH",
        default=100,
        group="codes",
        doc="wrong tries per (clientId, channel) per 30 days, across codes",
    )
    otp_validate_failure_floor_ms: int = var(
        "OTP_VALIDATE_FAILURE_FLOOR_MS",
        default=50,
        group="codes",
        doc="the least time a failed validate takes (0–5000); keep it above the store's write time",
    )
    otp_default_language: str = var(
        "OTP_DEFAULT_LANGUAGE",
        default="en",
        group="codes",
        doc="template language when the request names none or one that is missing",
    )

    # --- keys ----------------------------------------------------------------------------------
    otp_hash_keys: str | None = var(
        "OTP_HASH_KEYS",
        default=None,
        group="keys",
        doc="named HMAC keys, newest first: `id:key,id:key`; the first issues, all verify; each "
        "≥ 256 random bits as hex or base64 (`openssl rand -base64 32`), checked at start",
    )
    otp_hash_key: str | None = var(
        "OTP_HASH_KEY",
        default=None,
        group="keys",
        shown="a random key in `OTP_HASH_KEY_FILE` (logged warning)",
        doc="a single key (same rules) when `OTP_HASH_KEYS` is not set; one of the two is "
        "required with MongoDB or Kafka",
    )
    otp_hash_previous_keys: str | None = var(
        "OTP_HASH_PREVIOUS_KEYS",
        default=None,
        group="keys",
        doc="with `OTP_HASH_KEY` only: comma-separated retired keys that still verify",
    )
    otp_hash_key_file: str = var(
        "OTP_HASH_KEY_FILE",
        default="var/otp-hash.key",
        group="keys",
        doc="where the embedded default keeps its generated key",
    )
    otp_test_code: str | None = var(
        "OTP_TEST_CODE",
        default=None,
        group="keys",
        doc="for the engine's own end-to-end tests only: recipients whose normalised address "
        "fully matches `OTP_TEST_RECIPIENTS` always get this code (`OTP_LENGTH` digits); "
        "everyone else gets a secret code. Refused at start with a production hash key (an "
        "`OTP_HASH_KEYS` id not starting with `test`, or `OTP_HASH_KEY`) and beyond loopback; "
        "logged at start (`test_codes.enabled`)",
    )
    otp_test_recipients: str | None = var(
        "OTP_TEST_RECIPIENTS",
        default=None,
        group="keys",
        doc="the test recipients, a regular expression (e.g. `[a-z0-9.]+@qa\\.example`)",
    )
    otp_test_codes_allow_exposed: bool = var(
        "OTP_TEST_CODES_ALLOW_EXPOSED",
        default=False,
        group="keys",
        doc="allow the test-code mode on a non-loopback `HTTP_HOST` (a shared test environment)",
    )

    # --- HTTP ----------------------------------------------------------------------------------
    http_host: str = var("HTTP_HOST", default="127.0.0.1", group="http", doc="HTTP address")
    http_port: int = var("HTTP_PORT", default=8080, group="http", doc="HTTP port")
    http_max_body_bytes: int = var(
        "HTTP_MAX_BODY_BYTES", default=65536, group="http", doc="larger bodies get 413"
    )
    http_api_keys: str | None = var(
        "HTTP_API_KEYS",
        default=None,
        group="http",
        shown="none (then only loopback may serve)",
        doc="callers as `name:sha256hex`, comma-separated; required when `HTTP_HOST` is not "
        "loopback",
    )
    http_header_timeout_seconds: float = var(
        "HTTP_HEADER_TIMEOUT_SECONDS",
        default=10.0,
        group="http",
        doc="a connection that has not sent a request's headers in time is closed",
    )
    http_body_timeout_seconds: float = var(
        "HTTP_BODY_TIMEOUT_SECONDS",
        default=10.0,
        group="http",
        doc="a body not in on time gets 408",
    )
    http_max_connections: int = var(
        "HTTP_MAX_CONNECTIONS",
        default=1000,
        group="http",
        doc="connections served at once; beyond, 503",
    )
    http_workers: int = var(
        "HTTP_WORKERS",
        default=1,
        group="http",
        doc="processes sharing the port (SO_REUSEPORT) and the Kafka consumer group, 1–64 "
        "(`otp serve --workers N`); each is a whole service",
    )

    # --- abuse caps ------------------------------------------------------------------------------
    limit_recipient_max_sends: int = var(
        "LIMIT_RECIPIENT_MAX_SENDS",
        default=_CAPS.per_recipient.max_sends,
        group="abuse",
        doc="codes sent to one address or number, whatever the clientId (0: off)",
    )
    limit_recipient_window_seconds: int = var(
        "LIMIT_RECIPIENT_WINDOW_SECONDS",
        default=int(_CAPS.per_recipient.window.total_seconds()),
        group="abuse",
        doc="its window",
    )
    limit_caller_max_sends: int = var(
        "LIMIT_CALLER_MAX_SENDS",
        default=_CAPS.per_caller.max_sends,
        group="abuse",
        doc="codes asked for by one caller (an HTTP key's name, or `kafka`); off by default: "
        "the engine is one caller that speaks for millions of customers (0: off)",
    )
    limit_caller_window_seconds: int = var(
        "LIMIT_CALLER_WINDOW_SECONDS",
        default=int(_CAPS.per_caller.window.total_seconds()),
        group="abuse",
        doc="its window",
    )
    limit_sms_prefix_max_sends: int = var(
        "LIMIT_SMS_PREFIX_MAX_SENDS",
        default=_CAPS.per_sms_prefix.max_sends,
        group="abuse",
        doc="SMS to one range of 100 numbers (the number less its last two digits): bounds a "
        "toll-fraud run through consecutive premium numbers (0: off)",
    )
    limit_sms_prefix_window_seconds: int = var(
        "LIMIT_SMS_PREFIX_WINDOW_SECONDS",
        default=int(_CAPS.per_sms_prefix.window.total_seconds()),
        group="abuse",
        doc="its window",
    )
    limit_sms_country_max_sends: int = var(
        "LIMIT_SMS_COUNTRY_MAX_SENDS",
        default=_CAPS.per_sms_country.max_sends,
        group="abuse",
        doc="SMS to one country calling code (0: off; `SMS_ALLOWED_COUNTRIES` keeps SMS to "
        "the countries a bank serves)",
    )
    limit_sms_country_window_seconds: int = var(
        "LIMIT_SMS_COUNTRY_WINDOW_SECONDS",
        default=int(_CAPS.per_sms_country.window.total_seconds()),
        group="abuse",
        doc="its window",
    )
    sms_budget: int = var(
        "SMS_BUDGET",
        default=_CAPS.sms_budget.max_sends,
        group="abuse",
        doc="SMS parts in one window, all recipients (0: off): a long SMS costs its parts; "
        "above 200 one-part SMS a second by default",
    )
    sms_budget_window_seconds: int = var(
        "SMS_BUDGET_WINDOW_SECONDS",
        default=int(_CAPS.sms_budget.window.total_seconds()),
        group="abuse",
        doc="its window",
    )
    sms_allowed_countries: str = var(
        "SMS_ALLOWED_COUNTRIES",
        default="",
        shown="all",
        group="abuse",
        doc="ISO 3166 codes SMS may go to, e.g. `RO,MD`",
    )
    sms_denied_number_types: str = var(
        "SMS_DENIED_NUMBER_TYPES",
        default=",".join(DENIED_BY_DEFAULT),
        group="abuse",
        doc="number types SMS never go to (`fixed_line`, `mobile`, `fixed_line_or_mobile`, "
        "`voip`, `personal_number`, `pager`, `uan`, `voicemail` too)",
    )
    template_param_max_count: int = var(
        "TEMPLATE_PARAM_MAX_COUNT", default=32, group="abuse", doc="template parameters per request"
    )
    template_param_max_length: int = var(
        "TEMPLATE_PARAM_MAX_LENGTH",
        default=200,
        group="abuse",
        doc="characters per text value of a template parameter",
    )
    template_param_allow_links: bool = var(
        "TEMPLATE_PARAM_ALLOW_LINKS",
        default=False,
        group="abuse",
        doc="allow web addresses and phone numbers in template parameters",
    )

    # --- storage and templates ---------------------------------------------------------------
    delivery: str = var(
        "DELIVERY",
        default="auto",
        group="storage",
        doc="`outbox`: with MongoDB or Kafka set, write codes of channels without a provider to "
        "`OUTBOX_DIR` (without it the service refuses to start)",
    )
    sqlite_path: str = var(
        "SQLITE_PATH",
        default="var/otp.sqlite3",
        group="storage",
        doc="the embedded default's store",
    )
    outbox_dir: str = var(
        "OUTBOX_DIR",
        default="var/outbox",
        group="storage",
        doc="one file per MAIL (`.eml`) or SMS (`.sms`) sent",
    )
    templates_dir: str | None = var(
        "TEMPLATES_DIR",
        default=None,
        group="storage",
        shown="the bundled templates (`adapters/templates/bundled/`, in the wheel too)",
        doc="template folder, see [templates.md](templates.md)",
    )
    template_store: str | None = var(
        "TEMPLATE_STORE",
        default=None,
        group="storage",
        shown="`files` (`mongo` when `MONGODB_URI` is set and `TEMPLATES_DIR` is not set or "
        "does not exist)",
        doc="where templates come from: `files` (`TEMPLATES_DIR`) or `mongo` "
        "(the `templates` collection; needs `MONGODB_URI`)",
    )
    mongodb_uri: str | None = var(
        "MONGODB_URI",
        "SPRING_DATA_MONGODB_URI",
        default=None,
        shown="unset: SQLite",
        group="storage",
        doc="MongoDB for codes and replies (and templates with `TEMPLATE_STORE=mongo`)",
    )
    mongodb_database: str | None = var(
        "MONGODB_DATABASE",
        default=None,
        group="storage",
        shown="the URI's database, else `otp`",
        doc="database name",
    )
    mongodb_timeout_ms: int = var(
        "MONGODB_TIMEOUT_MS",
        default=5000,
        group="storage",
        doc="server selection and connect timeout",
    )
    processed_request_ttl_seconds: int = var(
        "PROCESSED_REQUEST_TTL_SECONDS",
        default=86400,
        group="storage",
        doc="how long a request's reply is kept for redeliveries and `Idempotency-Key` retries",
    )
    purge_interval_seconds: int = var(
        "PURGE_INTERVAL_SECONDS",
        default=60,
        group="storage",
        doc="how often expired codes and replies are deleted (also where MongoDB has TTL "
        "indexes, which the service creates)",
    )

    # --- messages and delivery -----------------------------------------------------------------
    mail_from_address: str = var(
        "MAIL_FROM_ADDRESS",
        "APPLICATION_MAIL_FROM_EMAIL",
        default="no-reply@otp.local",
        group="delivery",
        doc="sender address",
    )
    mail_from_name: str = var(
        "MAIL_FROM_NAME",
        "APPLICATION_MAIL_FROM_NAME",
        default="OTP service",
        group="delivery",
        doc="sender name",
    )
    sms_default_region: str | None = var(
        "SMS_DEFAULT_REGION",
        default=None,
        group="delivery",
        doc="region (e.g. `RO`) for numbers given without `+`; none means E.164 only",
    )
    smtp_host: str | None = var(
        "SMTP_HOST",
        "SIMPLEJAVAMAIL_SMTP_HOST",
        default=None,
        shown="unset: mails go to the outbox",
        group="delivery",
        doc="SMTP server",
    )
    smtp_port: int | None = var(
        "SMTP_PORT",
        "SIMPLEJAVAMAIL_SMTP_PORT",
        default=None,
        shown="587 / 465 / 25 by security",
        group="delivery",
        doc="SMTP port",
    )
    smtp_security: str = var(
        "SMTP_SECURITY",
        default="starttls",
        group="delivery",
        doc="`starttls`, `tls` (implicit) or `none`",
    )
    smtp_username: str | None = var(
        "SMTP_USERNAME",
        "SIMPLEJAVAMAIL_SMTP_USERNAME",
        default=None,
        group="delivery",
        doc="AUTH user name",
    )
    smtp_password: str | None = var(
        "SMTP_PASSWORD",
        "SIMPLEJAVAMAIL_SMTP_PASSWORD",
        default=None,
        group="delivery",
        doc="AUTH password",
    )
    smtp_timeout_seconds: float = var(
        "SMTP_TIMEOUT_SECONDS", default=15.0, group="delivery", doc="connect and command timeout"
    )
    smtp_validate_certs: bool = var(
        "SMTP_VALIDATE_CERTS",
        default=True,
        group="delivery",
        doc="check the server's TLS certificate",
    )
    smtp_ca_file: str | None = var(
        "SMTP_CA_FILE",
        default=None,
        shown="system CAs",
        group="delivery",
        doc="CA bundle for the server's certificate",
    )
    sms_providers: str = var(
        "SMS_PROVIDERS",
        default="",
        shown="unset: SMS go to the outbox",
        group="delivery",
        doc="`twilio`, `webhook`, comma-separated in failover order",
    )
    twilio_account_sid: str | None = var(
        "TWILIO_ACCOUNT_SID",
        default=None,
        group="delivery",
        shown="required with `twilio`",
        doc="Twilio-compatible account",
    )
    twilio_auth_token: str | None = var(
        "TWILIO_AUTH_TOKEN",
        default=None,
        group="delivery",
        shown="required with `twilio`",
        doc="its token",
    )
    twilio_from: str | None = var(
        "TWILIO_FROM",
        default=None,
        group="delivery",
        shown="required with `twilio`",
        doc="sender number",
    )
    twilio_base_url: str = var(
        "TWILIO_BASE_URL",
        default="https://api.twilio.com",
        group="delivery",
        doc="any Twilio-compatible API",
    )
    sms_webhook_url: str | None = var(
        "SMS_WEBHOOK_URL",
        default=None,
        group="delivery",
        shown="required with `webhook`",
        doc="JSON webhook",
    )
    sms_webhook_token: str | None = var(
        "SMS_WEBHOOK_TOKEN", default=None, group="delivery", doc="the webhook's bearer token"
    )
    sms_max_segments: int = var(
        "SMS_MAX_SEGMENTS",
        default=3,
        group="delivery",
        doc="longer texts are refused before sending",
    )
    sms_http_timeout_seconds: float = var(
        "SMS_HTTP_TIMEOUT_SECONDS",
        default=10.0,
        group="delivery",
        doc="HTTP timeout towards SMS providers",
    )
    delivery_attempts: int = var(
        "DELIVERY_ATTEMPTS",
        default=3,
        group="delivery",
        doc="tries per provider for transient failures",
    )
    delivery_backoff_initial_seconds: float = var(
        "DELIVERY_BACKOFF_INITIAL_SECONDS",
        default=0.5,
        group="delivery",
        doc="first wait between tries (exponential, with jitter)",
    )
    delivery_backoff_max_seconds: float = var(
        "DELIVERY_BACKOFF_MAX_SECONDS",
        default=5.0,
        group="delivery",
        doc="longest wait between tries",
    )
    delivery_timeout_seconds: float = var(
        "DELIVERY_TIMEOUT_SECONDS", default=60.0, group="delivery", doc="total time per provider"
    )

    # --- Kafka ---------------------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = var(
        "KAFKA_BOOTSTRAP_SERVERS",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS",
        default=None,
        shown="unset: no Kafka entrypoint",
        group="kafka",
        doc="brokers",
    )
    kafka_consumer_group_id: str = var(
        "KAFKA_CONSUMER_GROUP_ID",
        "SPRING_KAFKA_CONSUMER_GROUP_ID",
        default="otp-service",
        group="kafka",
        doc="consumer group shared by the workers",
    )
    kafka_security_protocol: str = var(
        "KAFKA_SECURITY_PROTOCOL",
        "SPRING_KAFKA_SECURITY_PROTOCOL",
        default="PLAINTEXT",
        group="kafka",
        doc="`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`",
    )
    kafka_sasl_mechanism: str = var(
        "KAFKA_SASL_MECHANISM",
        "SPRING_KAFKA_PROPERTIES_SASL_MECHANISM",
        default="PLAIN",
        group="kafka",
        doc="`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`",
    )
    kafka_sasl_username: str | None = var(
        "KAFKA_SASL_USERNAME",
        default=None,
        group="kafka",
        shown="required with `SASL_*`",
        doc="SASL user",
    )
    kafka_sasl_password: str | None = var(
        "KAFKA_SASL_PASSWORD",
        default=None,
        group="kafka",
        shown="required with `SASL_*`",
        doc="SASL password",
    )
    kafka_sasl_jaas_config: str | None = var(
        "SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG",
        default=None,
        group="kafka",
        doc='a Java JAAS line whose `username="…" password="…"` stand in for the two above',
    )
    kafka_ssl_ca_location: str | None = var(
        "KAFKA_SSL_CA_LOCATION",
        default=None,
        shown="system CAs",
        group="kafka",
        doc="PEM file of the CAs to trust",
    )
    kafka_ssl_certificate_location: str | None = var(
        "KAFKA_SSL_CERTIFICATE_LOCATION", default=None, group="kafka", doc="PEM client certificate"
    )
    kafka_ssl_key_location: str | None = var(
        "KAFKA_SSL_KEY_LOCATION", default=None, group="kafka", doc="PEM client key"
    )
    kafka_ssl_key_password: str | None = var(
        "KAFKA_SSL_KEY_PASSWORD",
        "SPRING_KAFKA_SSL_KEY_PASSWORD",
        default=None,
        group="kafka",
        doc="the client key's password",
    )
    kafka_ssl_endpoint_identification_algorithm: str | None = var(
        "KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM",
        default=None,
        shown="`https`",
        group="kafka",
        doc="`none` turns off the broker host name check",
    )
    kafka_topic_otp_generate_in: str = var(
        "KAFKA_TOPIC_OTP_GENERATE_IN",
        default=TOPIC_DEFAULTS["generate_in"],
        group="kafka",
        doc="generate requests",
    )
    kafka_topic_otp_generate_out: str = var(
        "KAFKA_TOPIC_OTP_GENERATE_OUT",
        default=TOPIC_DEFAULTS["generate_out"],
        group="kafka",
        doc="generate replies",
    )
    kafka_topic_otp_validate_in: str = var(
        "KAFKA_TOPIC_OTP_VALIDATE_IN",
        default=TOPIC_DEFAULTS["validate_in"],
        group="kafka",
        doc="validate requests",
    )
    kafka_topic_otp_validate_out: str = var(
        "KAFKA_TOPIC_OTP_VALIDATE_OUT",
        default=TOPIC_DEFAULTS["validate_out"],
        group="kafka",
        doc="validate replies",
    )
    kafka_topic_otp_dlq: str = var(
        "KAFKA_TOPIC_OTP_DLQ",
        default=TOPIC_DEFAULTS["dead_letter"],
        group="kafka",
        doc="dead letters",
    )
    kafka_topic_otp_events: str | None = var(
        "KAFKA_TOPIC_OTP_EVENTS",
        default=None,
        shown="unset: no events",
        group="kafka",
        doc="lifecycle events (CloudEvents: issued, "
        "delivered, delivery failed, validated, mismatch, expired, locked, rate limited), see "
        "[observability.md](observability.md); created at start with "
        "`KAFKA_CREATE_TOPICS`",
    )
    kafka_topic_notification_external_out: str = var(
        "KAFKA_TOPIC_NOTIFICATION_EXTERNAL_OUT",
        default=TOPIC_DEFAULTS["notification_external_out"],
        group="kafka",
        doc="where forward-on-Kafka templates go",
    )
    engine_topic_pattern: str = var(
        "ENGINE_TOPIC_PATTERN",
        default=r"ai\.flowx\.engine\.receive\..*",
        group="kafka",
        doc="the topics the engine listens on: `otp serve` warns at start when a reply topic "
        "would never be read (`otp serve --strict` refuses to start)",
    )
    kafka_message_max_bytes: int = var(
        "KAFKA_MESSAGE_MAX_BYTES",
        default=1_048_576,
        group="kafka",
        doc="larger records are dead-lettered; also the producer's largest "
        "record (match the broker's `message.max.bytes`)",
    )
    kafka_max_in_flight: int = var(
        "KAFKA_MAX_IN_FLIGHT",
        default=64,
        group="kafka",
        doc="records handled at once per worker; past it the partitions pause",
    )
    kafka_partition_assignor: str = var(
        "KAFKA_PARTITION_ASSIGNOR",
        default="roundrobin",
        group="kafka",
        doc="`roundrobin`, `range` or `cooperative-sticky`",
    )
    kafka_group_protocol: str = var(
        "KAFKA_GROUP_PROTOCOL",
        default="classic",
        group="kafka",
        doc="`classic`, or `consumer` (KIP-848: the broker assigns; then the session timeout, "
        "heartbeat and assignor are the broker's `group.consumer.*` settings); "
        "docs/decisions.md says why the default",
    )
    kafka_session_timeout_ms: int = var(
        "KAFKA_SESSION_TIMEOUT_MS",
        default=45_000,
        group="kafka",
        doc="how long the group waits for a silent worker before it hands its partitions to "
        "others (classic protocol); longer than a group coordinator's failover, or a broker "
        "crash costs every partition and a rejoin",
    )
    kafka_heartbeat_interval_ms: int = var(
        "KAFKA_HEARTBEAT_INTERVAL_MS",
        default=3000,
        group="kafka",
        doc="how often the worker tells the group it is alive (classic protocol); at most a "
        "third of the session timeout",
    )
    kafka_max_poll_interval_ms: int = var(
        "KAFKA_MAX_POLL_INTERVAL_MS",
        default=300_000,
        group="kafka",
        doc="the longest the worker may go without polling before it leaves the group",
    )
    kafka_headers_not_echoed: str = var(
        "KAFKA_HEADERS_NOT_ECHOED",
        default="__TypeId__,__KeyTypeId__,__ContentTypeId__",
        group="kafka",
        doc="request headers left off replies (comma-separated, exact names): by default "
        "Spring's type-mapping headers, which would make a Spring consumer read the reply as "
        "the request's class",
    )
    kafka_unassigned_ready_seconds: int = var(
        "KAFKA_UNASSIGNED_READY_SECONDS",
        default=30,
        group="kafka",
        doc="`/readyz` answers 503 when the worker has held no partition this long while its "
        "group has members",
    )
    kafka_metadata_refresh_ms: int = var(
        "KAFKA_METADATA_REFRESH_MS",
        default=5000,
        group="kafka",
        doc="how soon a topic created after start is seen",
    )
    kafka_statistics_interval_ms: int = var(
        "KAFKA_STATISTICS_INTERVAL_MS",
        default=5000,
        group="kafka",
        doc="how often the consumer lag (`otp_kafka_consumer_lag`) is refreshed; `0` turns it off",
    )
    kafka_create_topics: bool = var(
        "KAFKA_CREATE_TOPICS",
        default=False,
        group="kafka",
        doc="create the in, out, dead-letter (and events) topics at start",
    )
    kafka_topic_partitions: int = var(
        "KAFKA_TOPIC_PARTITIONS",
        default=-1,
        group="kafka",
        shown="`-1` (the broker's default)",
        doc="for the topics created at start",
    )
    kafka_topic_replication_factor: int = var(
        "KAFKA_TOPIC_REPLICATION_FACTOR",
        default=-1,
        group="kafka",
        shown="`-1` (the broker's default)",
        doc="for the topics created at start",
    )
    shutdown_grace_seconds: int = var(
        "SHUTDOWN_GRACE_SECONDS",
        default=30,
        group="kafka",
        doc="how long SIGTERM waits for records in flight",
    )

    # --- observability -------------------------------------------------------------------------
    log_format: str = var(
        "LOG_FORMAT", default="console", group="observability", doc="`console` or `json`"
    )
    log_level: str = var(
        "LOG_LEVEL",
        default="INFO",
        group="observability",
        doc="`DEBUG`, `INFO`, `WARNING`, `ERROR`",
    )
    otel_exporter_otlp_endpoint: str | None = var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        default=None,
        shown="unset: spans are made (trace ids reach replies and logs) but not exported",
        group="observability",
        doc="an OTLP/HTTP collector for the service's spans; the "
        "exporter's other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, "
        "certificates) apply",
    )
    otel_exporter_otlp_traces_endpoint: str | None = var(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        default=None,
        group="observability",
        doc="the same, for traces only",
    )
    otel_traces_exporter: str = var(
        "OTEL_TRACES_EXPORTER",
        default="otlp",
        group="observability",
        doc="`none` turns exporting off even with an endpoint set",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the mapping given to ``read``: the caller passes os.environ, tests their own.
        return (init_settings,)

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Environment:
        """The variables of ``env``; a value that is not of its variable's type is refused with
        the variable's name and never the value (it may be a secret)."""
        given = {name: value for name, value in env.items() if value.strip() != ""}
        try:
            return cls(**given)  # type: ignore[arg-type]  # strings, converted by pydantic
        except ValidationError as exc:
            # The error's location is the name that was used (an alias or the variable itself).
            used = str(exc.errors()[0]["loc"][0])
            field = next(
                (f for f in cls.model_fields.values() if used in _names(f)),
                cls.model_fields.get(used),
            )
            annotation = field.annotation if field is not None else None
            raise SettingsError(f"{used} must be {_expected(annotation)}") from None


def _names(field: Any) -> list[str]:
    extra = field.json_schema_extra
    names: list[str] = extra["names"] if isinstance(extra, dict) else []
    return names


def _expected(annotation: object) -> str:
    text = str(annotation)
    if "bool" in text:
        return "true or false"
    if "int" in text:
        return "a whole number"
    return "a number"


GROUPS = {
    "codes": "Codes",
    "keys": "Keys and test codes",
    "http": "HTTP",
    "abuse": "Abuse caps",
    "storage": "Storage and templates",
    "delivery": "Messages and delivery",
    "kafka": "Kafka",
    "observability": "Logs, metrics and traces",
}


def documentation() -> str:
    """docs/configuration.md, from the declarations above."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable, read once at start; a bad value stops the "
        "start with a message naming the variable (never its value). Names of the process "
        "engine's plugin (FLOWX, Spring, Simple Java Mail) are accepted as aliases where shown: "
        "the first one set wins, and an empty value counts as unset.",
        "",
        "This page is generated from the declarations in `entrypoints/environment.py` by "
        "`otp config docs > docs/configuration.md`; a test fails while the two differ.",
    ]
    for group, title in GROUPS.items():
        lines += [
            "",
            f"## {title}",
            "",
            "| variable (aliases) | default | meaning |",
            "|---|---|---|",
        ]
        for field in Environment.model_fields.values():
            extra = field.json_schema_extra
            assert isinstance(extra, dict)
            if extra["group"] != group:
                continue
            names = _names(field)
            aliases = f" ({', '.join(f'`{n}`' for n in names[1:])})" if names[1:] else ""
            shown = extra["shown"] or (
                "none" if field.default in (None, "") else f"`{_default_text(field.default)}`"
            )
            lines.append(f"| `{names[0]}`{aliases} | {shown} | {field.description} |")
    lines += [
        "",
        "## Where to look next",
        "",
        "- What each setting does to the messages: [contract.md](contract.md).",
        "- The hash keys, callers and caps in the threat model: the repository's `SECURITY.md`.",
        "- Metrics, logs, traces and lifecycle events: [observability.md](observability.md).",
        "",
    ]
    return "\n".join(lines)


def _default_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
