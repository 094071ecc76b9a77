"""The Kafka branch of the settings: brokers, topics, the consumer group and its security."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from adapters.settings import (
    AtLeastOne,
    Branch,
    Brokers,
    Count,
    Positive,
    ReadableFile,
    Upper,
    Words,
    aka,
    branch_config,
    shown,
)

_TOPIC = "ai.flowx.plugin.notification."
_ENGINE = "ai.flowx.engine.receive.plugin.notification."
JAAS_FIELD = re.compile(r'\b(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"')


class KafkaSettings(Branch):
    model_config = branch_config("KAFKA_")
    title: ClassVar[str] = "Kafka"
    key: ClassVar[str | None] = "bootstrap_servers"

    bootstrap_servers: Annotated[str, Brokers] = Field(
        validation_alias=aka("KAFKA_BOOTSTRAP_SERVERS", "SPRING_KAFKA_BOOTSTRAP_SERVERS"),
        json_schema_extra=shown("unset: no Kafka entrypoint"),
    )
    """brokers"""
    group_id: str = Field(
        "otp-service",
        validation_alias=aka("KAFKA_CONSUMER_GROUP_ID", "SPRING_KAFKA_CONSUMER_GROUP_ID"),
    )
    """consumer group shared by the workers"""
    security_protocol: Annotated[
        Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], Upper
    ] = Field(
        "PLAINTEXT",
        validation_alias=aka("KAFKA_SECURITY_PROTOCOL", "SPRING_KAFKA_SECURITY_PROTOCOL"),
    )
    """`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`"""
    sasl_mechanism: Annotated[Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], Upper] = Field(
        "PLAIN",
        validation_alias=aka("KAFKA_SASL_MECHANISM", "SPRING_KAFKA_PROPERTIES_SASL_MECHANISM"),
    )
    """`PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`"""
    sasl_username: str | None = Field(None, json_schema_extra=shown("required with `SASL_*`"))
    """SASL user"""
    sasl_password: str | None = Field(
        None, repr=False, json_schema_extra=shown("required with `SASL_*`")
    )
    """SASL password"""
    sasl_jaas_config: str | None = Field(
        None, repr=False, validation_alias="SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG"
    )
    """a Java JAAS line whose `username="…" password="…"` stand in for the two above"""
    ssl_ca_location: Annotated[str | None, ReadableFile] = Field(
        None, json_schema_extra=shown("system CAs")
    )
    """PEM file of the CAs to trust"""
    ssl_certificate_location: Annotated[str | None, ReadableFile] = None
    """PEM client certificate"""
    ssl_key_location: Annotated[str | None, ReadableFile] = None
    """PEM client key"""
    ssl_key_password: str | None = Field(
        None,
        repr=False,
        validation_alias=aka("KAFKA_SSL_KEY_PASSWORD", "SPRING_KAFKA_SSL_KEY_PASSWORD"),
    )
    """the client key's password"""
    ssl_endpoint_identification_algorithm: str | None = Field(
        None, json_schema_extra=shown("`https`")
    )
    """`none` turns off the broker host name check"""
    generate_in: str = Field(
        _TOPIC + "trigger.generate.otp.v1", validation_alias="KAFKA_TOPIC_OTP_GENERATE_IN"
    )
    """generate requests"""
    generate_out: str = Field(
        _ENGINE + "generate.otp.results.v1", validation_alias="KAFKA_TOPIC_OTP_GENERATE_OUT"
    )
    """generate replies"""
    validate_in: str = Field(
        _TOPIC + "trigger.validate.otp.v1", validation_alias="KAFKA_TOPIC_OTP_VALIDATE_IN"
    )
    """validate requests"""
    validate_out: str = Field(
        _ENGINE + "validate.otp.results.v1", validation_alias="KAFKA_TOPIC_OTP_VALIDATE_OUT"
    )
    """validate replies"""
    dead_letter: str = Field(_TOPIC + "otp.dlq.v1", validation_alias="KAFKA_TOPIC_OTP_DLQ")
    """dead letters"""
    events: str | None = Field(
        None, validation_alias="KAFKA_TOPIC_OTP_EVENTS", json_schema_extra=shown("unset: no events")
    )
    """lifecycle events (CloudEvents: issued, accepted, delivered, undelivered, delivery failed,
    validated, mismatch, expired, locked, rate limited), see [observability.md](observability.md);
    created at start with `KAFKA_CREATE_TOPICS`"""
    notification_external_out: str = Field(
        _TOPIC + "external.out.v1", validation_alias="KAFKA_TOPIC_NOTIFICATION_EXTERNAL_OUT"
    )
    """where forward-on-Kafka templates go"""
    engine_topic_pattern: str = Field(
        r"ai\.flowx\.engine\.receive\..*", validation_alias="ENGINE_TOPIC_PATTERN"
    )
    """the topics the engine listens on: `otp serve` warns at start when a reply topic would never
    be read (`otp serve --strict` refuses to start)"""
    message_max_bytes: AtLeastOne = 1_048_576
    """larger records are dead-lettered; also the producer's largest record (match the broker's
    `message.max.bytes`)"""
    max_in_flight: AtLeastOne = 64
    """records handled at once per worker; past it the partitions pause"""
    assignor: Literal["roundrobin", "range", "cooperative-sticky"] = Field(
        "roundrobin", validation_alias="KAFKA_PARTITION_ASSIGNOR"
    )
    """`roundrobin`, `range` or `cooperative-sticky`"""
    group_protocol: Literal["classic", "consumer"] = "classic"
    """`classic`, or `consumer` (KIP-848: the broker assigns; then the session timeout, heartbeat
    and assignor are the broker's `group.consumer.*` settings); docs/decisions.md says why the
    default"""
    session_timeout_ms: Positive = 45_000
    """how long the group waits for a silent worker before it hands its partitions to others
    (classic protocol); longer than a group coordinator's failover, or a broker crash costs every
    partition and a rejoin"""
    heartbeat_interval_ms: Positive = 3000
    """how often the worker tells the group it is alive (classic protocol); at most a third of the
    session timeout"""
    max_poll_interval_ms: Positive = 300_000
    """the longest the worker may go without polling before it leaves the group"""
    headers_not_echoed: Annotated[tuple[str, ...], Words] = (
        "__TypeId__",
        "__KeyTypeId__",
        "__ContentTypeId__",
    )
    """request headers left off replies (comma-separated, exact names): by default Spring's
    type-mapping headers, which would make a Spring consumer read the reply as the request's
    class"""
    unassigned_ready_seconds: Positive = 30
    """`/readyz` answers 503 when the worker has held no partition this long while its group has
    members"""
    metadata_refresh_ms: Positive = 5000
    """how soon a topic created after start is seen"""
    statistics_interval_ms: Count = 5000
    """how often the consumer lag (`otp_kafka_consumer_lag`) is refreshed; `0` turns it off"""
    create_topics: bool = False
    """create the in, out, dead-letter (and events) topics at start"""
    topic_partitions: int = Field(-1, json_schema_extra=shown("`-1` (the broker's default)"))
    """for the topics created at start"""
    topic_replication_factor: int = Field(
        -1, json_schema_extra=shown("`-1` (the broker's default)")
    )
    """for the topics created at start"""
    shutdown_grace_seconds: int = Field(30, ge=0, validation_alias="SHUTDOWN_GRACE_SECONDS")
    """how long SIGTERM waits for records in flight"""

    @field_validator("engine_topic_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _together(self) -> KafkaSettings:
        problems = []
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            problems.append(
                "KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of KAFKA_SESSION_TIMEOUT_MS"
            )
        if self.security_protocol.startswith("SASL") and None in self._sasl_user():
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD (or SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @classmethod
    def defaults(cls, bootstrap_servers: str) -> KafkaSettings:
        """Every Kafka setting at its default, for ``bootstrap_servers``."""
        return cls.read({"KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers})

    def _sasl_user(self) -> tuple[str | None, str | None]:
        # A Java JAAS line gives the user and password when the plain variables are not set.
        jaas = dict(JAAS_FIELD.findall(self.sasl_jaas_config or ""))
        return (
            self.sasl_username or jaas.get("username"),
            self.sasl_password or jaas.get("password"),
        )

    def client_config(self) -> dict[str, str]:
        """What every Kafka client of the service is given: the brokers and how to reach them."""
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        username, password = self._sasl_user()
        if self.security_protocol.startswith("SASL") and username and password:
            config.update(
                {
                    "sasl.mechanism": self.sasl_mechanism,
                    "sasl.username": username,
                    "sasl.password": password,
                }
            )
        tls = {
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password,
            "ssl.endpoint.identification.algorithm": self.ssl_endpoint_identification_algorithm,
        }
        return {**config, **{name: value for name, value in tls.items() if value is not None}}

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
            self.generate_in,
            self.generate_out,
            self.validate_in,
            self.validate_out,
            self.dead_letter,
            *events,
        )
