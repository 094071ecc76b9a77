"""The composition root: the only module that names concrete adapters.

Resources open lazily, on first use: the embedded default never touches MongoDB, and a
MongoDB deployment never creates the SQLite file.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import httpx2 as httpx
import structlog
from dependency_injector import containers, providers
from pymongo.asynchronous.database import AsyncDatabase

from adapters.channels.failover import FailoverChannel, Provider
from adapters.channels.kafka_forward import KafkaForwardProvider
from adapters.channels.mime import Sender
from adapters.channels.outbox import OutboxMailChannel, OutboxSmsChannel
from adapters.channels.router import ChannelRouter
from adapters.channels.sms_http import TwilioSmsProvider, WebhookSmsProvider
from adapters.channels.sms_segments import SegmentLimitedChannel
from adapters.channels.smtp import SmtpMailProvider
from adapters.clock import SystemClock
from adapters.codes import HmacCodeHasher, HmacPseudonyms, NamedKey, SecretsCodeGenerator
from adapters.hash_key import load_or_create_key
from adapters.kafka.publisher import kafka_publisher
from adapters.mongo.client import Document, connect, database, ensure_indexes
from adapters.mongo.otp_repository import MongoOtpRepository
from adapters.mongo.processed_requests import MongoProcessedRequests
from adapters.mongo.send_counters import MongoSendCounters
from adapters.mongo.template_store import MongoTemplateStore
from adapters.recipients import LibraryRecipientValidator
from adapters.repositories.sqlite import SqliteOtpRepository, open_sqlite
from adapters.repositories.sqlite_counters import SqliteSendCounters
from adapters.repositories.sqlite_processed import SqliteProcessedRequests
from adapters.templates.file_store import FileTemplateStore
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from application.idempotency import IdempotentReplies
from application.limits import SendLimits
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
from domain.channel import Channel
from entrypoints.settings import Settings

log = structlog.get_logger(__name__)


def build_hasher(settings: Settings) -> HmacCodeHasher:
    if settings.hash_keys:
        return HmacCodeHasher(settings.hash_keys)
    key = load_or_create_key(settings.hash_key_file)
    log.warning(
        "hash_key.generated_locally",
        detail="OTP_HASH_KEYS is not set; using a random key kept in a local file. "
        "Set OTP_HASH_KEYS in any shared or production deployment.",
        key_file=str(settings.hash_key_file),
    )
    return HmacCodeHasher([NamedKey.unnamed(key)])


def kafka_producer_config(settings: Settings) -> dict[str, Any]:
    assert settings.kafka is not None
    return {
        **settings.kafka.client_config(),
        # What the broker accepts (its message.max.bytes): larger replies and dead letters are
        # cut to fit before they are sent, never retried.
        "message.max.bytes": settings.kafka.message_max_bytes,
        "reconnect.backoff.max.ms": 1000,
    }


def mail_kind(settings: Settings) -> str:
    return "smtp" if settings.delivery.smtp is not None else "outbox"


def sms_kind(settings: Settings) -> str:
    return "http" if settings.delivery.sms_providers else "outbox"


def forward_kind(settings: Settings) -> str:
    return "kafka" if settings.kafka is not None else "none"


def forward_topic(settings: Settings) -> str:
    assert settings.kafka is not None
    return settings.kafka.notification_external_out


def sms_providers(settings: Settings, client: httpx.AsyncClient) -> list[Provider]:
    """The SMS providers in the order SMS_PROVIDERS names them (failover order)."""
    delivery = settings.delivery
    built: dict[str, Provider] = {}
    if delivery.twilio is not None:
        built["twilio"] = TwilioSmsProvider(client, delivery.twilio)
    if delivery.webhook is not None:
        built["webhook"] = WebhookSmsProvider(client, delivery.webhook)
    return [built[name] for name in delivery.sms_providers]


async def http_client(timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=timeout) as client:
        yield client


async def smtp_provider(settings: Settings, sender: Sender) -> AsyncIterator[SmtpMailProvider]:
    assert settings.delivery.smtp is not None
    provider = SmtpMailProvider(settings.delivery.smtp, sender)
    try:
        yield provider
    finally:
        await provider.close()


def storage_kind(settings: Settings) -> str:
    return "mongo" if settings.mongodb_uri else "sqlite"


async def sqlite_connection(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    connection = await open_sqlite(path)
    try:
        yield connection
    finally:
        await connection.close()


async def mongo_database(settings: Settings) -> AsyncIterator[AsyncDatabase[Document]]:
    assert settings.mongodb_uri is not None
    client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms)
    try:
        db = database(client, settings.mongodb_database)
        await ensure_indexes(db)
        yield db
    finally:
        await client.close()


class Gateways(containers.DeclarativeContainer):
    """Clients of outside systems, opened and closed as resources."""

    settings = providers.Dependency(instance_of=Settings)
    sqlite = providers.Resource(sqlite_connection, settings.provided.sqlite_path)
    mongo = providers.Resource(mongo_database, settings)
    kafka_publisher = providers.Resource(
        kafka_publisher, providers.Callable(kafka_producer_config, settings)
    )
    http = providers.Resource(http_client, settings.provided.delivery.http_timeout)
    sender = providers.Singleton(
        Sender, settings.provided.mail_from_address, settings.provided.mail_from_name
    )
    smtp = providers.Resource(smtp_provider, settings, sender)


class Adapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    gateways = providers.DependenciesContainer()

    storage = providers.Callable(storage_kind, settings)
    clock = providers.Singleton(SystemClock)
    hasher = providers.Singleton(build_hasher, settings)
    # Per-request codes must be the same in every worker, so their key comes from the shared one.
    codes = providers.Singleton(
        SecretsCodeGenerator, hasher.provided.derived_key.call("otp code derivation")
    )
    pseudonyms = providers.Singleton(HmacPseudonyms, hasher.provided.derived_key.call("pseudonyms"))
    recipients = providers.Singleton(
        LibraryRecipientValidator,
        default_region=settings.provided.sms_default_region,
        allowed_countries=settings.provided.abuse.sms_allowed_countries,
        denied_types=settings.provided.abuse.sms_denied_types,
    )
    repository = providers.Selector(
        storage,
        sqlite=providers.Singleton(SqliteOtpRepository, gateways.sqlite),
        mongo=providers.Singleton(MongoOtpRepository, gateways.mongo),
    )
    processed = providers.Selector(
        storage,
        sqlite=providers.Singleton(SqliteProcessedRequests, gateways.sqlite),
        mongo=providers.Singleton(MongoProcessedRequests, gateways.mongo),
    )
    counters = providers.Selector(
        storage,
        sqlite=providers.Singleton(SqliteSendCounters, gateways.sqlite),
        mongo=providers.Singleton(MongoSendCounters, gateways.mongo),
    )
    limits = providers.Singleton(SendLimits, counters, pseudonyms, settings.provided.abuse.caps)
    file_templates = providers.Singleton(FileTemplateStore, settings.provided.templates_dir)
    # A template folder other than TEMPLATES_DIR (templates export --to DIR).
    folder_templates = providers.Factory(FileTemplateStore)
    mongo_templates = providers.Singleton(MongoTemplateStore, gateways.mongo)
    templates = providers.Selector(
        settings.provided.template_store,
        files=file_templates,
        mongo=mongo_templates,
    )
    renderer = providers.Singleton(JinjaTemplateRenderer)
    retry = settings.provided.delivery.retry
    mail_channel = providers.Selector(
        providers.Callable(mail_kind, settings),
        outbox=providers.Singleton(
            OutboxMailChannel, settings.provided.outbox_dir, gateways.sender
        ),
        smtp=providers.Singleton(FailoverChannel, providers.List(gateways.smtp), retry),
    )
    sms_channel = providers.Singleton(
        SegmentLimitedChannel,
        providers.Selector(
            providers.Callable(sms_kind, settings),
            outbox=providers.Singleton(OutboxSmsChannel, settings.provided.outbox_dir),
            http=providers.Singleton(
                FailoverChannel, providers.Callable(sms_providers, settings, gateways.http), retry
            ),
        ),
        settings.provided.delivery.sms_max_segments,
    )
    channels = providers.Dict({Channel.MAIL: mail_channel, Channel.SMS: sms_channel})
    forward: providers.Provider[FailoverChannel | None] = providers.Selector(
        providers.Callable(forward_kind, settings),
        kafka=providers.Singleton(
            FailoverChannel,
            providers.List(
                providers.Singleton(
                    KafkaForwardProvider,
                    gateways.kafka_publisher,
                    providers.Callable(forward_topic, settings),
                )
            ),
            retry,
        ),
        none=providers.Object(None),
    )
    delivery = providers.Singleton(ChannelRouter, channels, forward)


class UseCases(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
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
        policy=settings.provided.policy,
        pseudonyms=adapters.pseudonyms,
        limits=adapters.limits,
        parameter_rules=settings.provided.abuse.parameter_rules,
        default_language=settings.provided.default_language,
    )
    validate_otp = providers.Singleton(
        ValidateOtp,
        repository=adapters.repository,
        hasher=adapters.hasher,
        clock=adapters.clock,
        policy=settings.provided.policy,
        recipients=adapters.recipients,
        pseudonyms=adapters.pseudonyms,
        failure_floor=settings.provided.abuse.validate_failure_floor,
    )

    list_templates = providers.Factory(
        ListTemplates,
        store=adapters.templates,
        default_language=settings.provided.default_language,
    )
    show_template = providers.Factory(
        ShowTemplate,
        store=adapters.templates,
        default_language=settings.provided.default_language,
    )
    preview_template = providers.Factory(
        PreviewTemplate,
        store=adapters.templates,
        renderer=adapters.renderer,
        policy=settings.provided.policy,
        default_language=settings.provided.default_language,
    )
    import_templates = providers.Factory(
        CopyTemplates, source=adapters.file_templates, target=adapters.mongo_templates
    )
    export_templates = providers.Factory(CopyTemplates, source=adapters.templates)
    idempotent_replies = providers.Singleton(
        IdempotentReplies,
        processed=adapters.processed,
        clock=adapters.clock,
        keep=settings.provided.processed_ttl,
    )
    purge_expired = providers.Singleton(
        PurgeExpired,
        stores=providers.List(adapters.repository, adapters.processed, adapters.counters),
        clock=adapters.clock,
    )
    unlock_account = providers.Singleton(
        UnlockAccount,
        repository=adapters.repository,
        clock=adapters.clock,
        pseudonyms=adapters.pseudonyms,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    gateways = providers.Container(Gateways, settings=settings)
    adapters = providers.Container(Adapters, settings=settings, gateways=gateways)
    use_cases = providers.Container(UseCases, settings=settings, adapters=adapters)


async def resolve(provider: Any) -> Any:
    """Calls a provider, awaiting it when an async resource sits among its dependencies."""
    value = provider()
    if inspect.isawaitable(value):
        value = await value
    return value
