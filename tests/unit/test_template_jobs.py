"""The template jobs: list, show, preview (as generation fills a message) and copy."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.templates.memory_store import InMemoryTemplateStore
from application.use_cases.templates import CopyTemplates
from domain.channel import Channel
from domain.policy import OtpPolicy
from domain.template import NotificationTemplate
from tests.harness import MAIL_TEMPLATE, MAIL_TEMPLATE_RO, SMS_TEMPLATE, Harness

LIFETIME = NotificationTemplate(
    name="lifetime",
    channel=Channel.SMS,
    language="en",
    text="{{ otpValue }} for {{ validMinutes }}",
)


def _harness(policy: OtpPolicy | None = None) -> Harness:
    """The container's wiring, with these templates in place of the configured store."""
    harness = Harness(policy=policy)
    harness.templates = InMemoryTemplateStore([MAIL_TEMPLATE, MAIL_TEMPLATE_RO, SMS_TEMPLATE])
    harness.templates.put(LIFETIME)
    harness.use_repository(harness.repository)
    return harness


def test_list_names_each_template_with_its_channel_and_languages() -> None:
    use_case = _harness().use_cases.list_templates()
    listed = asyncio.run(use_case.execute())
    assert [(s.name, s.channel, s.languages) for s in listed] == [
        ("lifetime", Channel.SMS, ("en",)),
        ("otp-mail", Channel.MAIL, ("en", "ro")),
        ("otp-sms", Channel.SMS, ("en",)),
    ]


def test_show_falls_back_to_the_default_language() -> None:
    use_case = _harness().use_cases.show_template()
    shown = asyncio.run(use_case.execute("otp-sms", "de"))
    assert shown.language == "en"


def test_a_preview_rounds_the_lifetime_as_the_sent_message_does() -> None:
    harness = _harness(OtpPolicy(ttl=timedelta(seconds=90)))
    preview = asyncio.run(harness.use_cases.preview_template().execute("lifetime"))
    assert preview.message.text == "012345 for 2"
    harness.generate(templateName="lifetime")
    assert harness.sms.sent[-1].message.text.endswith(" for 2")


def test_copy_puts_every_language_of_every_template_into_the_target() -> None:
    """What ``otp templates export`` does: the store's templates into a folder's store."""
    source, target = _harness().templates, InMemoryTemplateStore()
    copied = asyncio.run(CopyTemplates(source=source, target=target).execute())
    assert len(copied) == 4
    assert asyncio.run(target.find("otp-mail", "ro")) == MAIL_TEMPLATE_RO
