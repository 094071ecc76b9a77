"""The service wired with in-memory adapters and a manual clock, for unit and behaviour tests."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from adapters.channels.memory import RecordingChannel
from adapters.channels.router import ChannelRouter
from adapters.clock import ManualClock
from adapters.codes import HmacCodeHasher, HmacPseudonyms, NamedKey, SecretsCodeGenerator
from adapters.recipients import LibraryRecipientValidator
from adapters.repositories.memory import InMemoryOtpRepository
from adapters.repositories.memory_counters import InMemorySendCounters
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from adapters.templates.memory_store import InMemoryTemplateStore
from application.limits import SendLimits
from application.ports import NotificationChannel, OtpRepository
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.unlock_account import UnlockAccount
from application.use_cases.validate_otp import ValidateOtp
from domain.channel import Channel
from domain.limits import Cap, SendCaps
from domain.policy import OtpPolicy
from domain.template import NotificationTemplate, TemplateParameter
from entrypoints import dispatch

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
    per_sms_country=Cap(0, timedelta(hours=1)),
    sms_per_day=Cap(0, timedelta(days=1)),
)

_CODE = re.compile(r"\b(\d{4,10})\b")


class Harness:
    """One service instance over fakes; ``run`` drives a coroutine from synchronous code."""

    def __init__(
        self,
        policy: OtpPolicy | None = None,
        repository: OtpRepository | None = None,
        caps: SendCaps | None = None,
    ) -> None:
        self.policy = policy or OtpPolicy()
        self.caps = caps or NO_CAPS
        self.counters = InMemorySendCounters()
        self.clock = ManualClock()
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
        self.hasher = HmacCodeHasher([NamedKey.unnamed(TEST_KEY)])
        self.use_repository(repository or InMemoryOtpRepository())

    def use_repository(self, repository: OtpRepository) -> None:
        """Wires the use cases to ``repository``, e.g. a real store opened on ``self.loop``."""
        self.repository = repository
        pseudonyms = HmacPseudonyms(self.hasher.derived_key("pseudonyms"))
        recipients = LibraryRecipientValidator()
        self.generate_use_case = GenerateOtp(
            repository=self.repository,
            templates=self.templates,
            renderer=JinjaTemplateRenderer(),
            delivery=ChannelRouter(self.channels),
            recipients=recipients,
            codes=SecretsCodeGenerator(),
            hasher=self.hasher,
            clock=self.clock,
            policy=self.policy,
            pseudonyms=pseudonyms,
            limits=SendLimits(self.counters, pseudonyms, self.caps),
        )
        self.unlock_use_case = UnlockAccount(
            repository=self.repository, clock=self.clock, pseudonyms=pseudonyms
        )
        self.validate_use_case = ValidateOtp(
            repository=self.repository,
            hasher=self.hasher,
            clock=self.clock,
            policy=self.policy,
            recipients=recipients,
            pseudonyms=pseudonyms,
        )

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
        sent = (self.sms if channel is Channel.SMS else self.mail).sent
        assert sent, f"no {channel.value} was sent"
        match = _CODE.search(sent[-1].message.text)
        assert match is not None
        return match.group(1)

    def sent_codes(self, channel: Channel = Channel.SMS) -> list[str]:
        """Every code sent on ``channel``, oldest first."""
        sent = (self.sms if channel is Channel.SMS else self.mail).sent
        return [m.group(1) for n in sent if (m := _CODE.search(n.message.text)) is not None]

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


def wrong_code(code: str) -> str:
    """A code of the same length that differs from ``code`` in every digit."""
    return "".join(str((int(c) + 1) % 10) for c in code)
