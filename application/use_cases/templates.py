"""The template jobs an operator asks for: list, show, preview, import and export."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from application.messages import message_parameters
from application.ports import TemplateRenderer, TemplateStore, TemplateWriter
from application.templates import find_template
from domain.channel import Channel
from domain.errors import OtpError, TemplateParameterMissing
from domain.policy import OtpPolicy
from domain.template import NotificationTemplate, RenderedMessage


@attrs.frozen
class TemplateSummary:
    name: str
    channel: Channel | None
    languages: tuple[str, ...]


class ListTemplates:
    def __init__(self, *, store: TemplateStore, default_language: str) -> None:
        self._store = store
        self._default = default_language

    async def execute(self) -> list[TemplateSummary]:
        summaries = []
        for name in await self._store.names():
            languages = tuple(await self._store.languages(name))
            sample = await self._store.find(name, self._default) or (
                await self._store.find(name, languages[0]) if languages else None
            )
            summaries.append(TemplateSummary(name, sample.channel if sample else None, languages))
        return summaries


class ShowTemplate:
    def __init__(self, *, store: TemplateStore, default_language: str) -> None:
        self._store = store
        self._default = default_language

    async def execute(self, name: str, language: str | None = None) -> NotificationTemplate:
        wanted = (language or self._default).lower()
        return await find_template(self._store, name, None, wanted, self._default)


@attrs.frozen
class Preview:
    template: NotificationTemplate
    message: RenderedMessage


class PreviewTemplate:
    """What a person would receive, with a sample code in place of a real one."""

    def __init__(
        self,
        *,
        store: TemplateStore,
        renderer: TemplateRenderer,
        policy: OtpPolicy,
        default_language: str,
    ) -> None:
        self._show = ShowTemplate(store=store, default_language=default_language)
        self._renderer = renderer
        self._policy = policy

    async def execute(
        self,
        name: str,
        language: str | None = None,
        parameters: Mapping[str, object] | None = None,
        context: Mapping[str, object] | None = None,
    ) -> Preview:
        template = await self._show.execute(name, language)
        sample = "0123456789"[: self._policy.length]
        values = message_parameters(parameters or {}, sample, self._policy, context)
        template.check_parameters(values)
        return Preview(template, self._renderer.render(template, values))


class CopyTemplates:
    """Copies every template of one store into another: import (a folder into MongoDB) and
    export (MongoDB into a folder) are the same job in opposite directions."""

    def __init__(self, *, source: TemplateStore, target: TemplateWriter) -> None:
        self._source = source
        self._target = target

    async def execute(self) -> list[NotificationTemplate]:
        copied = []
        for name in await self._source.names():
            for language in await self._source.languages(name):
                template = await self._source.find(name, language)
                if template is not None:
                    await self._target.upsert(template)
                    copied.append(template)
        return copied


@attrs.frozen
class TemplateCheck:
    """What ``CheckTemplates`` found: the templates it read, by channel, and what is wrong."""

    templates: int
    channels: tuple[Channel, ...]
    problems: tuple[str, ...]


class CheckTemplates:
    """Reads and renders every template once, with a sample of each declared parameter, and
    names the channels delivered that have none: what would otherwise surface request by
    request (TEMPLATE_NOT_FOUND, INTERNAL_ERROR) is said at start, naming ``where``."""

    def __init__(
        self,
        *,
        store: TemplateStore,
        renderer: TemplateRenderer,
        policy: OtpPolicy,
        channels: tuple[Channel, ...],
        where: str,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._policy = policy
        self._channels = channels
        self._where = where

    async def execute(self) -> TemplateCheck:
        problems: list[str] = []
        found: set[Channel] = set()
        count = 0
        for name in await self._store.names():
            for language in await self._store.languages(name):
                try:
                    template = await self._store.find(name, language)
                    if template is None:
                        continue
                    count += 1
                    found.add(template.channel)
                    self._render(template)
                except TemplateParameterMissing:
                    pass  # a name it does not declare: the caller may still send it
                except OtpError as exc:
                    problems.append(f"{self._where}: template {name!r} ({language}): {exc.message}")
        problems.extend(
            f"{self._where} holds no template for {channel.value}, which is delivered: "
            "every generate for it would answer TEMPLATE_NOT_FOUND"
            for channel in self._channels
            if channel not in found
        )
        return TemplateCheck(count, tuple(sorted(found, key=str)), tuple(problems))

    def _render(self, template: NotificationTemplate) -> None:
        sample = "0123456789"[: self._policy.length]
        given = {parameter.name: "x" for parameter in template.parameters}
        self._renderer.render(template, message_parameters(given, sample, self._policy, None))
