"""Rendering with a sandboxed Jinja2: parameters are data, undefined names are errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from domain.errors import InternalError, InvalidTemplate, TemplateParameterMissing
from domain.template import NotificationTemplate, RenderedMessage

_UNDEFINED = re.compile(r"'([^']+)' is undefined")


class JinjaTemplateRenderer:
    def __init__(self) -> None:
        self._text = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
        self._html = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True)
        self._compile_text = lru_cache(maxsize=512)(self._text.from_string)
        self._compile_html = lru_cache(maxsize=512)(self._html.from_string)

    def render(
        self, template: NotificationTemplate, parameters: Mapping[str, object]
    ) -> RenderedMessage:
        values = template.complete(parameters)
        try:
            text = self._compile_text(template.text).render(values)
            subject = (
                " ".join(self._compile_text(template.subject).render(values).split())
                if template.subject is not None
                else None
            )
            html = (
                self._compile_html(template.html).render(values)
                if template.html is not None
                else None
            )
        except jinja2.UndefinedError as exc:
            match = _UNDEFINED.search(str(exc))
            raise TemplateParameterMissing([match.group(1) if match else "?"]) from None
        except jinja2.TemplateError as exc:
            raise InternalError(
                f"Template {template.name!r} ({template.language}) cannot be rendered: "
                f"{type(exc).__name__}."
            ) from None
        return RenderedMessage(text=text, subject=subject, html=html)

    def names(self, text: str) -> frozenset[str]:
        """The names a text uses; ``InvalidTemplate`` (with the line) when it is not valid."""
        try:
            return frozenset(meta.find_undeclared_variables(self._text.parse(text)))
        except jinja2.TemplateSyntaxError as exc:
            said = (exc.message or "syntax error").splitlines()[0][:200]
            raise InvalidTemplate(f"Line {exc.lineno}: {said}.") from None
