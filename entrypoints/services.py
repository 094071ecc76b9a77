"""What an entrypoint serves with: the use cases and the few adapters it reads directly, as
the container wires them (``Runtime.services``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from application.events import LifecycleEvents
from application.idempotency import IdempotentReplies
from application.ports import OtpRepository, StatusCallback, TemplateStore
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.purge_expired import PurgeExpired
from application.use_cases.template_versions import TemplateEditor
from application.use_cases.validate_otp import ValidateOtp
from entrypoints.kafka.worker import KafkaWorker

if TYPE_CHECKING:
    from adapters.telemetry import Telemetry


@attrs.frozen
class Services:
    generate: GenerateOtp
    validate: ValidateOtp
    repository: OtpRepository
    # Where templates are read: /readyz says when it holds none.
    templates: TemplateStore
    # Deletes what is past its retention; HTTP's lifespan runs it periodically.
    purge: PurgeExpired
    # Replies kept by request id (Kafka redeliveries, HTTP Idempotency-Key).
    replies: IdempotentReplies
    # This process's metrics and spans (/metrics reads its registry).
    telemetry: Telemetry
    # Lifecycle events, when KAFKA_TOPIC_OTP_EVENTS is set.
    events: LifecycleEvents | None = None
    # The SMS providers' status callbacks, by provider name (POST /v1/sms/status/{name}).
    callbacks: Mapping[str, StatusCallback] = attrs.field(factory=dict)
    # Drafts, versions and publishing, when the served templates are the store's.
    editor: TemplateEditor | None = None
    # Signs the console's sessions and forms: the same on every replica of one deployment.
    console_secret: bytes = attrs.field(default=b"", repr=False)
    # The Kafka worker, when brokers are configured, and the set-up of its topics.
    worker: KafkaWorker | None = None
    set_up_topics: Callable[[], Awaitable[None]] | None = None
    # The Kafka worker's task, when it runs: the service is not ready once it has stopped.
    background: asyncio.Task[None] | None = None
    # What the service runs with (store, templates, channels, delivery, Kafka): /readyz and
    # the otp_configuration_info metric say it.
    configuration: Mapping[str, str] = attrs.field(factory=dict)
