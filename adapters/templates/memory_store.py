"""Templates held in memory, for tests and for stores loaded elsewhere."""

from __future__ import annotations

from collections.abc import Iterable

from domain.template import NotificationTemplate


class InMemoryTemplateStore:
    def __init__(self, templates: Iterable[NotificationTemplate] = ()) -> None:
        self._templates = {(t.name, t.language): t for t in templates}

    async def find(self, name: str, language: str) -> NotificationTemplate | None:
        return self._templates.get((name, language))

    async def names(self) -> list[str]:
        return sorted({name for name, _ in self._templates})

    async def languages(self, name: str) -> list[str]:
        return sorted(lang for n, lang in self._templates if n == name)

    def put(self, template: NotificationTemplate) -> None:
        self._templates[(template.name, template.language)] = template

    async def upsert(self, template: NotificationTemplate) -> None:
        self.put(template)
