"""The template jobs: list, show, preview (as generation fills a message) and copy."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from adapters.templates.memory_store import InMemoryTemplateStore
from application.use_cases.templates import (
    CopyTemplates,
    ListTemplates,
    PreviewTemplate,
    ShowTemplate,
)
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


def _store() -> InMemoryTemplateStore:
    return InMemoryTemplateStore([MAIL_TEMPLATE, MAIL_TEMPLATE_RO, SMS_TEMPLATE, LIFETIME])


def test_list_names_each_template_with_its_channel_and_languages() -> None:
    listed = asyncio.run(ListTemplates(store=_store(), default_language="en").execute())
    assert [(s.name, s.channel, s.languages) for s in listed] == [
        ("lifetime", Channel.SMS, ("en",)),
        ("otp-mail", Channel.MAIL, ("en", "ro")),
        ("otp-sms", Channel.SMS, ("en",)),
    ]


def test_show_falls_back_to_the_default_language() -> None:
    shown = asyncio.run(
        ShowTemplate(store=_store(), default_language="en").execute("otp-sms", "de")
    )
    assert shown.language == "en"


def test_a_preview_rounds_the_lifetime_as_the_sent_message_does() -> None:
    policy = OtpPolicy(ttl=timedelta(seconds=90))
    preview = asyncio.run(
        PreviewTemplate(
            store=_store(), renderer=JinjaTemplateRenderer(), policy=policy, default_language="en"
        ).execute("lifetime")
    )
    assert preview.message.text == "012345 for 2"
    harness = Harness(policy=policy)
    harness.templates.put(LIFETIME)
    harness.generate(templateName="lifetime")
    assert harness.sms.sent[-1].message.text.endswith(" for 2")


def test_copy_puts_every_language_of_every_template_into_the_target() -> None:
    target = InMemoryTemplateStore()
    copied = asyncio.run(CopyTemplates(source=_store(), target=target).execute())
    assert len(copied) == 4
    assert asyncio.run(target.find("otp-mail", "ro")) == MAIL_TEMPLATE_RO
