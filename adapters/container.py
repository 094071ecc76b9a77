"""The adapters' part of the container: clients of outside systems (``Gateways``) and the
adapters the use cases are given (``Adapters``), each fed its own settings branch. The root
container (``entrypoints/container.py``) composes them with the use cases and what the
entrypoints run.

Resources open lazily, on first use: the embedded default never touches MongoDB, and a
MongoDB deployment never creates the SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import structlog
from dependency_injector import containers, providers

from adapters.channels.failover import FailoverChannel
from adapters.channels.kafka_forward import KafkaForwardProvider
from adapters.channels.receipts import DeliveryReceipts
from adapters.channels.router import ChannelRouter
from adapters.channels.settings import DeliverySettings
from adapters.clock import SystemChance, SystemClock
from adapters.codes import (
    HmacCodeHasher,
    HmacPseudonyms,
    NamedKey,
    SecretsCodeGenerator,
    TestCodesFor,
)
from adapters.codes_settings import KeySettings, PolicySettings, TestCodes
from adapters.hash_key import load_or_create_key
from adapters.kafka.admin import ensure_topics
from adapters.kafka.consumer import KafkaConsumer
from adapters.kafka.events import KafkaEventPublisher
from adapters.kafka.publisher import kafka_publisher
from adapters.kafka.records import RecordWriter
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.throttle import ClientLog, ThrottledLog
from adapters.limit_settings import LimitSettings
from adapters.plugins import (
    ChannelContext,
    channel_plugins,
    message_checks,
    open_channels,
    plugin_callbacks,
    recipient_rules,
)  # fmt: skip
from adapters.recipients import ChannelRecipients
from adapters.store_settings import StoreSettings
from adapters.stores import Stores, open_stores
from adapters.telemetry import open_telemetry
from adapters.telemetry_settings import TelemetrySettings
from adapters.templates.file_store import FileTemplateStore
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from application.limits import SendLimits
from application.ports import TemplateCatalog, TemplateStore

log = structlog.get_logger(__name__)

T = TypeVar("T")


class NotConfigured(Exception):
    """A part of the container was asked for although its setting is absent (a wiring error)."""


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise NotConfigured(f"{what} is not configured")
    return value


def build_hasher(keys: tuple[NamedKey, ...], key_file: Path) -> HmacCodeHasher:
    """The configured keys, else the embedded default's local key (the commands that issue
    codes warn about it: ``otp serve``, ``otp generate``)."""
    if keys:
        return HmacCodeHasher(keys)
    return HmacCodeHasher([NamedKey.unnamed(load_or_create_key(key_file))])


def kafka_producer_config(kafka: KafkaSettings | None, throttle: ThrottledLog) -> dict[str, Any]:
    kafka = _required(kafka, "Kafka (KAFKA_BOOTSTRAP_SERVERS)")
    return {
        **kafka.client_config(),
        # What the broker accepts (its message.max.bytes): larger replies and dead letters are
        # cut to fit before they are sent, never retried.
        "message.max.bytes": kafka.message_max_bytes,
        "reconnect.backoff.max.ms": 1000,
        # librdkafka's own log lines: its warnings join the throttled line for Kafka.
        "logger": ClientLog(throttle),
    }


def kafka_kind(kafka: KafkaSettings | None) -> str:
    """Whether brokers are configured: the Kafka forward and the Kafka worker follow it."""
    return "kafka" if kafka is not None else "none"


def test_codes_kind(test: TestCodes | None) -> str:
    if test is None:
        return "production"
    log.warning(
        "test_codes.enabled",
        detail="OTP_TEST_CODE is set: recipients matching OTP_TEST_RECIPIENTS get a fixed code",
        recipients=test.recipients,
    )
    return "test"


def events_kind(kafka: KafkaSettings | None) -> str:
    return "kafka" if kafka is not None and kafka.events else "none"


def events_topic(kafka: KafkaSettings | None) -> str:
    return _required(_required(kafka, "Kafka").events, "KAFKA_TOPIC_OTP_EVENTS")


def forward_topic(kafka: KafkaSettings | None) -> str:
    return _required(kafka, "Kafka (KAFKA_BOOTSTRAP_SERVERS)").notification_external_out


def kept_templates(stores: Stores) -> TemplateStore:
    """The store's templates (TEMPLATE_STORE set to a store that keeps them)."""
    return _required(stores.templates, "a store that keeps templates (TEMPLATE_STORE)")


def template_catalog(stores: Stores) -> TemplateCatalog:
    """The store's templates with their versions (what the management API and import edit)."""
    return _required(stores.catalog, "a store that keeps templates (TEMPLATE_STORE)")


def templates_kind(store: StoreSettings) -> str:
    return "files" if store.templates == "files" else "store"


def templates_origin(store: StoreSettings) -> str:
    if store.templates != "files":
        # A store that is not a folder is filled from one: the message says how.
        return (
            f"the template store (TEMPLATE_STORE={store.templates}; "
            "load a folder into it with `otp templates import`)"
        )
    return "TEMPLATES_DIR" if store.templates_dir is not None else "the bundled templates"


class Gateways(containers.DeclarativeContainer):
    """Clients of outside systems, opened and closed as resources."""

    store = providers.Dependency(instance_of=StoreSettings)
    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers

    # Codes, kept replies and counters: the store plug-in STORE names.
    stores_settings = providers.Dependency(instance_of=dict)
    stores = providers.Resource(open_stores, store, stores_settings)
    # One line per dependency per interval during an outage, not one per record or reconnect.
    throttle = providers.Singleton(ThrottledLog)
    producer_config = providers.Callable(kafka_producer_config, kafka, throttle)
    kafka_publisher = providers.Resource(kafka_publisher, producer_config)
    # Creates the service's own topics that are missing (KAFKA_CREATE_TOPICS); a coroutine.
    topics = providers.Callable(
        ensure_topics,
        producer_config,
        kafka.provided.own_topics,
        kafka.provided.topic_partitions,
        kafka.provided.topic_replication_factor,
    )


class Adapters(containers.DeclarativeContainer):
    codes_settings = providers.Dependency(instance_of=PolicySettings)
    keys = providers.Dependency(instance_of=KeySettings)
    limit_settings = providers.Dependency(instance_of=LimitSettings)
    store = providers.Dependency(instance_of=StoreSettings)
    delivery_settings = providers.Dependency(instance_of=DeliverySettings)
    # Each channel plug-in's settings branch, by channel.
    channel_settings = providers.Dependency(instance_of=dict)
    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers
    telemetry_settings = providers.Dependency(instance_of=TelemetrySettings)
    version = providers.Dependency(instance_of=str)  # the service's, for its telemetry
    gateways = providers.DependenciesContainer()

    # Whether brokers are configured (the Kafka forward and worker follow it) and events sent.
    kafka_kind = providers.Callable(kafka_kind, kafka)
    events_kind = providers.Callable(events_kind, kafka)
    # Metrics and spans of this process (tests override it with an in-memory span exporter).
    telemetry = providers.Resource(open_telemetry, telemetry_settings.provided.otlp_traces, version)
    clock = providers.Singleton(SystemClock)
    chance = providers.Singleton(SystemChance)
    hasher = providers.Singleton(build_hasher, keys.provided.keys, keys.provided.local_key_file)
    # Per-request codes must be the same in every worker, so their key comes from the shared one.
    secret_codes = providers.Singleton(
        SecretsCodeGenerator, hasher.provided.derived_key.call("otp code derivation")
    )
    codes: providers.Provider[SecretsCodeGenerator | TestCodesFor] = providers.Selector(
        providers.Callable(test_codes_kind, keys.provided.test_codes),
        production=secret_codes,
        test=providers.Singleton(
            TestCodesFor,
            secret_codes,
            keys.provided.test_codes.provided.code,
            keys.provided.test_codes.provided.recipients,
        ),
    )
    pseudonyms = providers.Singleton(HmacPseudonyms, hasher.provided.derived_key.call("pseudonyms"))
    # The channels are plug-ins (MAIL, SMS, a team's own): each brings its recipient rule, what
    # it refuses to carry and the channel itself; the channels with a rule are those delivered.
    plugins = providers.Callable(channel_plugins)
    recipient_rules = providers.Callable(recipient_rules, plugins, channel_settings)
    recipients = providers.Singleton(ChannelRecipients, recipient_rules)
    repository = gateways.stores.provided.repository
    processed = gateways.stores.provided.processed
    counters = gateways.stores.provided.counters
    limits = providers.Singleton(SendLimits, counters, pseudonyms, limit_settings.provided.caps)
    file_templates = providers.Singleton(FileTemplateStore, store.provided.templates_folder)
    # A template folder other than TEMPLATES_DIR (templates export --to DIR).
    folder_templates = providers.Factory(FileTemplateStore)
    store_templates = providers.Callable(kept_templates, gateways.stores)
    catalog = providers.Callable(template_catalog, gateways.stores)
    templates_kind = providers.Callable(templates_kind, store)
    templates = providers.Selector(
        templates_kind,
        files=file_templates,
        store=store_templates,
    )
    # What the templates' problems are reported against: the variable naming their source.
    templates_origin = providers.Callable(templates_origin, store)
    renderer = providers.Singleton(JinjaTemplateRenderer)
    retry = delivery_settings.provided.retry
    # Where providers report what became of a message later (SMPP receipts, status callbacks).
    receipts = providers.Singleton(DeliveryReceipts, telemetry.provided.registry)
    # The providers' signed status callbacks, by provider name (HTTP routes them).
    callbacks = providers.Singleton(plugin_callbacks, plugins, channel_settings, receipts)
    channels = providers.Resource(
        open_channels,
        plugins,
        channel_settings,
        providers.Factory(
            ChannelContext,
            store.provided.outbox_dir,
            retry,
            telemetry.provided.registry,
            receipts,
        ),
    )
    checks = providers.Callable(message_checks, plugins, channel_settings)
    forward: providers.Provider[FailoverChannel | None] = providers.Selector(
        kafka_kind,
        kafka=providers.Singleton(
            FailoverChannel,
            providers.List(
                providers.Singleton(
                    KafkaForwardProvider,
                    gateways.kafka_publisher,
                    providers.Callable(forward_topic, kafka),
                )
            ),
            retry,
        ),
        none=providers.Object(None),
    )
    delivery = providers.Singleton(ChannelRouter, channels, forward, telemetry, checks)
    event_publisher: providers.Provider[KafkaEventPublisher | None] = providers.Selector(
        events_kind,
        kafka=providers.Singleton(
            KafkaEventPublisher, gateways.kafka_publisher, providers.Callable(events_topic, kafka)
        ),
        none=providers.Object(None),
    )
    throttle = gateways.throttle
    consumer = providers.Singleton(
        KafkaConsumer,
        settings=kafka,
        telemetry=telemetry,
        throttle=throttle,
        grace_seconds=kafka.provided.shutdown_grace_seconds,
    )
    # A consumed record's reply and dead letter, cut to what the broker takes.
    record_writer = providers.Singleton(RecordWriter, gateways.kafka_publisher, kafka)
