"""The service as the container wires it, over fakes and a manual clock, for unit and behaviour
tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from dependency_injector import providers
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.channels.mail import MailSubjectCheck
from adapters.channels.memory import RecordingChannel
from adapters.channels.sms_segments import SmsLengthCheck
from adapters.clock import ManualClock
from adapters.codes import HmacCodeHasher, NamedKey
from adapters.repositories.memory import InMemoryOtpRepository
from adapters.repositories.memory_counters import InMemorySendCounters
from adapters.repositories.memory_processed import InMemoryProcessedRequests
from adapters.telemetry import Telemetry
from adapters.templates.memory_store import InMemoryTemplateStore
from application.ports import MessageCheck, NotificationChannel, OtpRepository
from domain.channel import Channel
from domain.limits import Cap, SendCaps
from domain.policy import OtpPolicy
from domain.template import NotificationTemplate, TemplateParameter
from entrypoints import dispatch
from entrypoints.container import Container, adapters_of, build_container, use_cases_of
from entrypoints.settings import Settings
from tests.fakes import ScriptedCodeGenerator

T = TypeVar("T")


async def resolve(provider: Callable[[], T | Awaitable[T]]) -> T:
    """A provider's value, awaited when an async resource sits among its dependencies."""
    value = provider()
    return await value if inspect.isawaitable(value) else value


TEST_KEY = b"unit-test-key-0123456789abcdef!!"

MAIL_TEMPLATE = NotificationTemplate(
    name="otp-mail",
    channel=Channel.MAIL,
    language="en",
    subject="Your code",
    text="Hello {{ firstName | default('there') }}, your code is {{ otpValue }}.",
    html="<p>Your code is <b>{{ otpValue }}</b> {{ firstName | default('') }}</p>",
    parameters=(TemplateParameter("otpValue", mandatory=True), TemplateParameter("firstName")),
)
MAIL_TEMPLATE_RO = NotificationTemplate(
    name="otp-mail",
    channel=Channel.MAIL,
    language="ro",
    subject="Codul tău de verificare",
    text="Bună {{ firstName }}, codul tău este {{ otpValue }}.",
    parameters=(TemplateParameter("otpValue", mandatory=True), TemplateParameter("firstName")),
)
SMS_TEMPLATE = NotificationTemplate(
    name="otp-sms",
    channel=Channel.SMS,
    language="en",
    text="Code {{ otpValue }}",
    parameters=(TemplateParameter("otpValue", mandatory=True),),
)
SMS_TEMPLATE_RO = NotificationTemplate(
    name="otp-sms",
    channel=Channel.SMS,
    language="ro",
    text="Codul {{ otpValue }}",
    parameters=(TemplateParameter("otpValue", mandatory=True),),
)
CONTRACT_TEMPLATE = NotificationTemplate(
    name="contract-sign",
    channel=Channel.SMS,
    language="en",
    text="Sign contract {{ contractNumber }} with {{ otpValue }}",
    parameters=(
        TemplateParameter("otpValue", mandatory=True),
        TemplateParameter("contractNumber", mandatory=True),
    ),
)

# Tests of other rules send many codes to one recipient: the abuse caps are off unless a test
# sets them (tests/unit/test_send_caps.py does).
NO_CAPS = SendCaps(
    per_recipient=Cap(0, timedelta(hours=1)),
    per_caller=Cap(0, timedelta(minutes=1)),
    per_sms_prefix=Cap(0, timedelta(hours=1)),
    per_sms_country=Cap(0, timedelta(hours=1)),
    sms_budget=Cap(0, timedelta(days=1)),
)


def _seconds(span: timedelta) -> str:
    return str(int(span.total_seconds()))


def policy_env(policy: OtpPolicy) -> dict[str, str]:
    """The variables that give ``policy``."""
    return {
        "OTP_LENGTH": str(policy.length),
        "OTP_TTL_SECONDS": _seconds(policy.ttl),
        "OTP_MAX_ATTEMPTS": str(policy.max_attempts),
        "OTP_RESEND_COOLDOWN_SECONDS": _seconds(policy.resend_cooldown),
        "OTP_MAX_SENDS": str(policy.max_sends),
        "OTP_SEND_WINDOW_SECONDS": _seconds(policy.send_window),
        "OTP_MAX_DELIVERY_ATTEMPTS": str(policy.max_delivery_attempts),
        "OTP_MAX_FAILURES_PER_DAY": str(policy.max_failures_per_day),
        "OTP_MAX_FAILURES_PER_MONTH": str(policy.max_failures_per_month),
    }


def caps_env(caps: SendCaps) -> dict[str, str]:
    """The variables that give ``caps``."""
    env: dict[str, str] = {}
    for cap, name in (
        (caps.per_recipient, "LIMIT_RECIPIENT"),
        (caps.per_caller, "LIMIT_CALLER"),
        (caps.per_sms_prefix, "LIMIT_SMS_PREFIX"),
        (caps.per_sms_country, "LIMIT_SMS_COUNTRY"),
    ):
        env |= {
            f"{name}_MAX_SENDS": str(cap.max_sends),
            f"{name}_WINDOW_SECONDS": _seconds(cap.window),
        }
    budget = caps.sms_budget
    return env | {
        "SMS_BUDGET": str(budget.max_sends),
        "SMS_BUDGET_WINDOW_SECONDS": _seconds(budget.window),
    }


class Harness:
    """The service as the container wires it, with the ports that reach outside faked: the
    clock, the stores, the templates, the channels and the code generator. ``run`` drives a
    coroutine from synchronous code."""

    def __init__(
        self,
        policy: OtpPolicy | None = None,
        repository: OtpRepository | None = None,
        caps: SendCaps | None = None,
    ) -> None:
        self.policy = policy or OtpPolicy()
        self.caps = caps or NO_CAPS
        self.counters = InMemorySendCounters()
        self.processed = InMemoryProcessedRequests()
        self.clock = ManualClock()
        self.codes = ScriptedCodeGenerator()
        self.loop = asyncio.new_event_loop()
        self.templates = InMemoryTemplateStore(
            [MAIL_TEMPLATE, MAIL_TEMPLATE_RO, SMS_TEMPLATE, SMS_TEMPLATE_RO, CONTRACT_TEMPLATE]
        )
        self.mail = RecordingChannel()
        self.sms = RecordingChannel()
        # The use case keeps this very dict: a test may remove a channel to unconfigure it.
        self.channels: dict[Channel, NotificationChannel] = {
            Channel.MAIL: self.mail,
            Channel.SMS: self.sms,
        }
        # What each channel refuses before anything is counted (the router keeps this dict).
        self.checks: dict[Channel, MessageCheck] = {
            Channel.MAIL: MailSubjectCheck(),
            Channel.SMS: SmsLengthCheck(3),
        }
        self.hasher = HmacCodeHasher([NamedKey.unnamed(TEST_KEY)])
        # Spans end up here as they finish; metrics in this registry of the harness's own.
        self.spans = InMemorySpanExporter()
        self.telemetry = Telemetry.create(
            processor=SimpleSpanProcessor(self.spans), processes=False
        )
        self.use_repository(repository or InMemoryOtpRepository())

    def settings(self) -> Settings:
        """The settings whose policy and caps are this harness's, read as the service reads
        them; a failed validate takes no least time here."""
        return Settings.from_env(
            {"OTP_VALIDATE_FAILURE_FLOOR_MS": "0", **policy_env(self.policy), **caps_env(self.caps)}
        )

    def use_repository(self, repository: OtpRepository) -> None:
        """Wires the use cases to ``repository``, e.g. a real store opened on ``self.loop``."""
        self.repository = repository
        self.container = self.wired(self.settings())
        self.adapters = adapters_of(self.container)
        self.use_cases = use_cases_of(self.container)
        use_cases = self.use_cases
        self.generate_use_case = use_cases.generate_otp()
        self.validate_use_case = use_cases.validate_otp()
        self.unlock_use_case = use_cases.unlock_account()
        self.replies = use_cases.idempotent_replies()

    def wired(self, settings: Settings) -> Container:
        """A container built from ``settings`` with this harness's fakes for the ports that
        reach outside (a Kafka worker's rig builds one with Kafka settings)."""
        container = build_container(settings)
        overrides: dict[str, object] = {
            "clock": self.clock,
            "repository": self.repository,
            "processed": self.processed,
            "counters": self.counters,
            "templates": self.templates,
            "channels": self.channels,
            "checks": self.checks,
            "codes": self.codes,
            "hasher": self.hasher,
            "telemetry": self.telemetry,
        }
        adapters = adapters_of(container)
        for name, fake in overrides.items():
            getattr(adapters, name).override(providers.Object(fake))
        return container

    def use_hasher(self, hasher: HmacCodeHasher) -> None:
        """Rewires the use cases to hash with ``hasher`` (a key rotation)."""
        self.hasher = hasher
        self.use_repository(self.repository)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.loop.close()

    def generate(self, **body: Any) -> dict[str, Any]:
        request = {
            "templateName": "otp-sms",
            "channel": "SMS",
            "recipient": "+40722123456",
            "clientId": "c1",
            **body,
        }
        outcome = self.run(dispatch.generate(self.generate_use_case, request))
        reply: dict[str, Any] = outcome.reply
        return reply

    def validate(self, code: str, **body: Any) -> dict[str, Any]:
        request = {"clientId": "c1", "channel": "SMS", "otp": code, **body}
        outcome = self.run(dispatch.validate(self.validate_use_case, request))
        reply: dict[str, Any] = outcome.reply
        return reply

    def last_code(self, channel: Channel = Channel.SMS) -> str:
        """The code in the last message sent on ``channel``: one the generator issued."""
        codes = self.sent_codes(channel)
        assert codes, f"no {channel.value} was sent"
        return codes[-1]

    def sent_codes(self, channel: Channel = Channel.SMS) -> list[str]:
        """The issued code each message sent on ``channel`` carries, oldest first."""
        sent = (self.sms if channel == Channel.SMS else self.mail).sent
        found = []
        for notification in sent:
            text = notification.message.text
            carried = [code for code in dict.fromkeys(self.codes.issued) if code in text]
            assert len(carried) == 1, f"a message carries {carried!r}, not one issued code"
            found.append(carried[0])
        return found

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


def wrong_code(code: str) -> str:
    """A code of the same length that differs from ``code`` in every digit."""
    return "".join(str((int(c) + 1) % 10) for c in code)
