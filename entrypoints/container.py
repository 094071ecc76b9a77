"""The composition root: the adapters' containers (``adapters/container.py``), the use cases
and what the entrypoints run, each part fed its own settings branch.
"""

from __future__ import annotations

from typing import cast

from dependency_injector import containers, providers

from adapters.codes_settings import PolicySettings
from adapters.container import Adapters, Gateways
from adapters.limit_settings import LimitSettings
from adapters.store_settings import StoreSettings
from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.purge_expired import PurgeExpired
from application.use_cases.template_versions import (
    CheckDraft,
    ImportTemplates,
    ListRecords,
    PreviewDraft,
    Publish,
    Rollback,
    SaveDraft,
    ShowRecord,
    TemplateEditor,
)
from application.use_cases.templates import (
    CheckTemplates,
    ListTemplates,
    PreviewTemplate,
    ShowTemplate,
)
from application.use_cases.unlock_account import UnlockAccount
from application.use_cases.validate_otp import ValidateOtp
from entrypoints.kafka.worker import KafkaWorker
from entrypoints.services import Services
from entrypoints.settings import Settings, configuration
from entrypoints.version import package_version


class UseCases(containers.DeclarativeContainer):
    codes = providers.Dependency(instance_of=PolicySettings)
    limits = providers.Dependency(instance_of=LimitSettings)
    store = providers.Dependency(instance_of=StoreSettings)
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
    # Every template read and rendered once, at start and by `otp config check`.
    check_templates = providers.Factory(
        CheckTemplates,
        store=adapters.templates,
        renderer=adapters.renderer,
        policy=codes.provided.policy,
        channels=adapters.recipients.provided.channels,
        where=adapters.templates_origin,
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
        ImportTemplates,
        catalog=adapters.catalog,
        clock=adapters.clock,
        source=adapters.file_templates,
    )
    # Drafts, versions and publishing (the management API, the console); only where the
    # served templates are the store's (a folder is edited as files).
    editing = providers.Factory(
        TemplateEditor,
        show=providers.Factory(ShowRecord, catalog=adapters.catalog, clock=adapters.clock),
        list=providers.Factory(ListRecords, catalog=adapters.catalog, clock=adapters.clock),
        save_draft=providers.Factory(
            SaveDraft, catalog=adapters.catalog, clock=adapters.clock, renderer=adapters.renderer
        ),
        publish=providers.Factory(Publish, catalog=adapters.catalog, clock=adapters.clock),
        rollback=providers.Factory(Rollback, catalog=adapters.catalog, clock=adapters.clock),
        check=providers.Factory(
            CheckDraft, renderer=adapters.renderer, policy=codes.provided.policy
        ),
        preview=providers.Factory(
            PreviewDraft,
            renderer=adapters.renderer,
            policy=codes.provided.policy,
            checks=adapters.checks,
        ),
    )
    template_editor: providers.Provider[TemplateEditor | None] = providers.Selector(
        adapters.templates_kind, store=editing, files=providers.Object(None)
    )
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
    # Counted always (otp_codes_total); published when KAFKA_TOPIC_OTP_EVENTS is set.
    lifecycle_events = providers.Singleton(
        LifecycleEvents,
        publisher=adapters.event_publisher,
        pseudonyms=adapters.pseudonyms,
        clock=adapters.clock,
        chance=adapters.chance,
        tally=adapters.telemetry,
        reports=adapters.receipts,
    )
    unlock_account = providers.Singleton(
        UnlockAccount,
        repository=adapters.repository,
        clock=adapters.clock,
        chance=adapters.chance,
        pseudonyms=adapters.pseudonyms,
    )


class Runtime(containers.DeclarativeContainer):
    """What the entrypoints run: the services they serve with, which hold the Kafka worker
    when brokers are configured and the set-up of its topics."""

    kafka = providers.Dependency(instance_of=object)  # KafkaSettings, or None without brokers
    configuration = providers.Dependency(instance_of=dict)
    gateways = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()
    use_cases = providers.DependenciesContainer()

    kafka_worker: providers.Provider[KafkaWorker | None] = providers.Selector(
        adapters.kafka_kind,
        kafka=providers.Singleton(
            KafkaWorker,
            settings=kafka,
            consumer=adapters.consumer,
            generate=use_cases.generate_otp,
            validate=use_cases.validate_otp,
            replies=use_cases.idempotent_replies,
            writer=adapters.record_writer,
            telemetry=adapters.telemetry,
            throttle=adapters.throttle,
            events=use_cases.lifecycle_events,
        ),
        none=providers.Object(None),
    )
    # Creates the service's own topics that are missing (KAFKA_CREATE_TOPICS); a coroutine.
    topics = gateways.topics
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
        callbacks=adapters.callbacks,
        editor=use_cases.template_editor,
        console_secret=adapters.hasher.provided.derived_key.call("console sessions"),
        worker=kafka_worker,
        set_up_topics=topics.provider,
        configuration=configuration,
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
        version=providers.Callable(package_version),
        gateways=gateways,
    )
    use_cases = providers.Container(
        UseCases,
        codes=settings.provided.codes,
        limits=settings.provided.limits,
        store=settings.provided.store,
        gateways=gateways,
        adapters=adapters,
    )
    runtime = providers.Container(
        Runtime,
        kafka=kafka,
        configuration=providers.Callable(configuration, settings),
        gateways=gateways,
        adapters=adapters,
        use_cases=use_cases,
    )


def build_container(settings: Settings) -> Container:
    return Container(settings=providers.Object(settings))


# Typed accessors: a nested container is Any to the type checker; these say what it holds.
def adapters_of(container: Container) -> Adapters:
    return cast(Adapters, container.adapters)


def gateways_of(container: Container) -> Gateways:
    return cast(Gateways, container.gateways)


def use_cases_of(container: Container) -> UseCases:
    return cast(UseCases, container.use_cases)


def runtime_of(container: Container) -> Runtime:
    return cast(Runtime, container.runtime)
