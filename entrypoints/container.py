"""The composition root: the only module that names concrete adapters.

Resources open lazily, on first use: the embedded default never touches MongoDB, and a
MongoDB deployment never creates the SQLite file.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import structlog
from dependency_injector import containers, providers

from adapters.channels.failover import FailoverChannel
from adapters.channels.kafka_forward import KafkaForwardProvider
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
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.throttle import ThrottledLog
from adapters.limit_settings import LimitSettings
from adapters.plugins import (
    ChannelContext,
    channel_plugins,
    message_checks,
    open_channels,
    recipient_rules,
)  # fmt: skip
from adapters.recipients import ChannelRecipients
from adapters.store_settings import StoreSettings
from adapters.stores import Stores, open_stores
from adapters.telemetry import open_telemetry
from adapters.telemetry_settings import TelemetrySettings
from adapters.templates.file_store import FileTemplateStore
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.limits import SendLimits
from application.ports import TemplateStore
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.purge_expired import PurgeExpired
from application.use_cases.templates import (
    CopyTemplates,
    ListTemplates,
    PreviewTemplate,
    ShowTemplate,
)
from application.use_cases.unlock_account import UnlockAccount
from application.use_cases.validate_otp import ValidateOtp
from entrypoints.kafka.worker import KafkaWorker
from entrypoints.services import Services
from entrypoints.settings import Settings
from entrypoints.version import package_version

log = structlog.get_logger(__name__)

T = TypeVar("T")


class NotConfigured(Exception):
    """A part of the container was asked for although its setting is absent (a wiring error)."""


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise NotConfigured(f"{what} is not configured")
    return value


def build_hasher(keys: tuple[NamedKey, ...], key_file: Path) -> HmacCodeHasher:
    if keys:
        return HmacCodeHasher(keys)
    key = load_or_create_key(key_file)
    log.warning(
        "hash_key.generated_locally",
        detail="OTP_HASH_KEYS is not set; using a random key kept in a local file. "
        "Set OTP_HASH_KEYS in any shared or production deployment.",
        key_file=str(key_file),
    )
    return HmacCodeHasher([NamedKey.unnamed(key)])


def kafka_producer_config(kafka: KafkaSettings | None) -> dict[str, Any]:
    kafka = _required(kafka, "Kafka (KAFKA_BOOTSTRAP_SERVERS)")
    return {
        **kafka.client_config(),
        # What the broker accepts (its message.max.bytes): larger replies and dead letters are
        # cut to fit before they are sent, never retried.
        "message.max.bytes": kafka.message_max_bytes,
        "reconnect.backoff.max.ms": 1000,
        # librdkafka's log lines go through the service's logging (JSON or console).
        "logger": logging.getLogger("confluent_kafka"),
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


def templates_kind(store: StoreSettings) -> str:
    return "files" if store.templates == "files" else "store"


class Gateways(containers.DeclarativeContainer):
    """Clients of outside systems, opened and closed as resources."""

    store = providers.Dependency(instance_of=StoreSettings)
    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers

    # Codes, kept replies and counters: the store plug-in STORE names.
    stores_settings = providers.Dependency(instance_of=dict)
    stores = providers.Resource(open_stores, store, stores_settings)
    kafka_publisher = providers.Resource(
        kafka_publisher, providers.Callable(kafka_producer_config, kafka)
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
    gateways = providers.DependenciesContainer()

    # Metrics and spans of this process (tests override it with an in-memory span exporter).
    telemetry = providers.Resource(
        open_telemetry, telemetry_settings.provided.otlp_traces, providers.Callable(package_version)
    )
    clock = providers.Singleton(SystemClock)
    chance = providers.Singleton(SystemChance)
    hasher = providers.Singleton(build_hasher, keys.provided.keys, keys.provided.hash_key_file)
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
    templates = providers.Selector(
        providers.Callable(templates_kind, store),
        files=file_templates,
        store=store_templates,
    )
    renderer = providers.Singleton(JinjaTemplateRenderer)
    retry = delivery_settings.provided.retry
    channels = providers.Resource(
        open_channels,
        plugins,
        channel_settings,
        providers.Factory(ChannelContext, store.provided.outbox_dir, retry),
    )
    checks = providers.Callable(message_checks, plugins, channel_settings)
    forward: providers.Provider[FailoverChannel | None] = providers.Selector(
        providers.Callable(kafka_kind, kafka),
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


class UseCases(containers.DeclarativeContainer):
    codes = providers.Dependency(instance_of=PolicySettings)
    limits = providers.Dependency(instance_of=LimitSettings)
    store = providers.Dependency(instance_of=StoreSettings)
    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers
    gateways = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()

    generate_otp = providers.Singleton(
        GenerateOtp,
        repository=adapters.repository,
        templates=adapters.templates,
        renderer=adapters.renderer,
        delivery=adapters.delivery,
        recipients=adapters.recipients,
        codes=adapters.codes,
        hasher=adapters.hasher,
        clock=adapters.clock,
        chance=adapters.chance,
        policy=codes.provided.policy,
        pseudonyms=adapters.pseudonyms,
        limits=adapters.limits,
        parameter_rules=limits.provided.parameter_rules,
        default_language=codes.provided.default_language,
    )
    validate_otp = providers.Singleton(
        ValidateOtp,
        repository=adapters.repository,
        hasher=adapters.hasher,
        clock=adapters.clock,
        chance=adapters.chance,
        policy=codes.provided.policy,
        recipients=adapters.recipients,
        pseudonyms=adapters.pseudonyms,
        failure_floor=codes.provided.failure_floor,
    )

    list_templates = providers.Factory(
        ListTemplates,
        store=adapters.templates,
        default_language=codes.provided.default_language,
    )
    show_template = providers.Factory(
        ShowTemplate,
        store=adapters.templates,
        default_language=codes.provided.default_language,
    )
    preview_template = providers.Factory(
        PreviewTemplate,
        store=adapters.templates,
        renderer=adapters.renderer,
        policy=codes.provided.policy,
        default_language=codes.provided.default_language,
    )
    import_templates = providers.Factory(
        CopyTemplates, source=adapters.file_templates, target=adapters.store_templates
    )
    export_templates = providers.Factory(CopyTemplates, source=adapters.templates)
    idempotent_replies = providers.Singleton(
        IdempotentReplies,
        processed=adapters.processed,
        clock=adapters.clock,
        keep=store.provided.processed_ttl,
    )
    purge_expired = providers.Singleton(
        PurgeExpired,
        stores=providers.List(adapters.repository, adapters.processed, adapters.counters),
        clock=adapters.clock,
    )
    lifecycle_events: providers.Provider[LifecycleEvents | None] = providers.Selector(
        providers.Callable(events_kind, kafka),
        kafka=providers.Singleton(
            LifecycleEvents,
            publisher=providers.Singleton(
                KafkaEventPublisher,
                gateways.kafka_publisher,
                providers.Callable(events_topic, kafka),
            ),
            pseudonyms=adapters.pseudonyms,
            clock=adapters.clock,
            chance=adapters.chance,
        ),
        none=providers.Object(None),
    )
    unlock_account = providers.Singleton(
        UnlockAccount,
        repository=adapters.repository,
        clock=adapters.clock,
        chance=adapters.chance,
        pseudonyms=adapters.pseudonyms,
    )


class Runtime(containers.DeclarativeContainer):
    """What the entrypoints run: the services they serve with, the Kafka worker when brokers
    are configured, and the set-up of its topics."""

    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers
    gateways = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()
    use_cases = providers.DependenciesContainer()

    services = providers.Factory(
        Services,
        generate=use_cases.generate_otp,
        validate=use_cases.validate_otp,
        repository=adapters.repository,
        templates=adapters.templates,
        purge=use_cases.purge_expired,
        replies=use_cases.idempotent_replies,
        telemetry=adapters.telemetry,
        events=use_cases.lifecycle_events,
    )
    # One line per dependency per interval during an outage, not one per record.
    throttle = providers.Singleton(ThrottledLog)
    kafka_worker: providers.Provider[KafkaWorker | None] = providers.Selector(
        providers.Callable(kafka_kind, kafka),
        kafka=providers.Singleton(
            KafkaWorker,
            settings=kafka,
            consumer=providers.Singleton(
                KafkaConsumer,
                settings=kafka,
                telemetry=adapters.telemetry,
                throttle=throttle,
                grace_seconds=kafka.provided.shutdown_grace_seconds,
            ),
            generate=use_cases.generate_otp,
            validate=use_cases.validate_otp,
            replies=use_cases.idempotent_replies,
            publisher=gateways.kafka_publisher,
            telemetry=adapters.telemetry,
            throttle=throttle,
            events=use_cases.lifecycle_events,
        ),
        none=providers.Object(None),
    )
    # Creates the service's own topics that are missing (KAFKA_CREATE_TOPICS); a coroutine.
    topics = providers.Callable(
        ensure_topics,
        providers.Callable(kafka_producer_config, kafka),
        kafka.provided.own_topics,
        kafka.provided.topic_partitions,
        kafka.provided.topic_replication_factor,
    )


class Container(containers.DeclarativeContainer):
    """Settings become configuration (``build_container``); tests override the ports they
    fake (``container.adapters.clock.override(...)``) and use everything else as wired."""

    settings = providers.Dependency(instance_of=Settings)
    kafka = settings.provided.kafka
    gateways = providers.Container(
        Gateways,
        store=settings.provided.store,
        stores_settings=settings.provided.stores,
        kafka=kafka,
    )
    adapters = providers.Container(
        Adapters,
        codes_settings=settings.provided.codes,
        keys=settings.provided.keys,
        limit_settings=settings.provided.limits,
        store=settings.provided.store,
        delivery_settings=settings.provided.delivery,
        channel_settings=settings.provided.channels,
        kafka=kafka,
        telemetry_settings=settings.provided.telemetry,
        gateways=gateways,
    )
    use_cases = providers.Container(
        UseCases,
        codes=settings.provided.codes,
        limits=settings.provided.limits,
        store=settings.provided.store,
        kafka=kafka,
        gateways=gateways,
        adapters=adapters,
    )
    runtime = providers.Container(
        Runtime, kafka=kafka, gateways=gateways, adapters=adapters, use_cases=use_cases
    )


def build_container(settings: Settings) -> Container:
    return Container(settings=providers.Object(settings))


async def resolve(provider: Callable[[], T | Awaitable[T]]) -> T:
    """Calls a provider, awaiting it when an async resource sits among its dependencies."""
    value = provider()
    if inspect.isawaitable(value):
        return await value
    return value


# Typed accessors: a nested container is Any to the type checker; these say what it holds.
def adapters_of(container: Container) -> Adapters:
    return cast(Adapters, container.adapters)


def gateways_of(container: Container) -> Gateways:
    return cast(Gateways, container.gateways)


def use_cases_of(container: Container) -> UseCases:
    return cast(UseCases, container.use_cases)


def runtime_of(container: Container) -> Runtime:
    return cast(Runtime, container.runtime)
