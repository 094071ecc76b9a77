"""The hand-editable template format: a folder per template, with ``<language>.toml`` texts."""

from __future__ import annotations

import tomllib
from typing import Any

import tomli_w

from domain.channel import Channel
from domain.template import NotificationTemplate, TemplateParameter

META_FILE = "template.toml"


def parse_parameters(raw: dict[str, Any]) -> tuple[TemplateParameter, ...]:
    return tuple(
        TemplateParameter(
            name=name,
            mandatory=bool(spec.get("mandatory", False)),
            description=str(spec.get("description", "")),
            type=str(spec.get("type", "text")),
        )
        for name, spec in raw.items()
    )


def build_template(
    name: str, language: str, meta: dict[str, Any], content: dict[str, Any]
) -> NotificationTemplate:
    """Combines a template's shared settings with one language's texts; raises ValueError."""
    channel = Channel.named(meta.get("channel"))
    text = content.get("text")
    if not isinstance(text, str):
        raise ValueError(f"template {name!r} ({language}) has no 'text'")
    subject = content.get("subject")
    if channel == Channel.MAIL and not isinstance(subject, str):
        raise ValueError(f"mail template {name!r} ({language}) has no 'subject'")
    html = content.get("html")
    return NotificationTemplate(
        name=name,
        channel=channel,
        language=language,
        text=text,
        subject=subject if isinstance(subject, str) else None,
        html=html if isinstance(html, str) else None,
        parameters=parse_parameters(meta.get("parameters", {})),
        forward_on_kafka=bool(meta.get("forward_on_kafka", False)),
    )


def loads(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def dumps_meta(template: NotificationTemplate) -> str:
    """``template.toml``: what every language of a template shares."""
    meta: dict[str, Any] = {"channel": template.channel.value}
    if template.forward_on_kafka:
        meta["forward_on_kafka"] = True
    if template.parameters:
        meta["parameters"] = {
            p.name: {
                "mandatory": p.mandatory,
                **({"description": p.description} if p.description else {}),
                **({"type": p.type} if p.type != "text" else {}),
            }
            for p in template.parameters
        }
    return tomli_w.dumps(meta, multiline_strings=True)


def dumps_content(template: NotificationTemplate) -> str:
    """``<language>.toml``: one language's texts."""
    content = {
        key: value
        for key, value in (
            ("subject", template.subject),
            ("text", template.text),
            ("html", template.html),
        )
        if value is not None
    }
    return tomli_w.dumps(content, multiline_strings=True)
