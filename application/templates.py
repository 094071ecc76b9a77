"""Finding the template for a request, falling back to the default language."""

from __future__ import annotations

from application.ports import TemplateStore
from domain.channel import Channel
from domain.errors import TemplateNotFound
from domain.template import NotificationTemplate


async def find_template(
    store: TemplateStore, name: str, channel: Channel | None, language: str, default_language: str
) -> NotificationTemplate:
    template = await store.find(name, language)
    if template is None and language != default_language:
        template = await store.find(name, default_language)
    if template is None:
        raise TemplateNotFound(f"There is no template named {name!r} in {language!r}.")
    if channel is not None and template.channel != channel:
        raise TemplateNotFound(
            f"Template {name!r} is for {template.channel.value}, not {channel.value}."
        )
    return template
