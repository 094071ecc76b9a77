"""A template's life: an editable draft, immutable published versions, one of them current.

A template here is all its languages together (one name, one channel, one set of declared
parameters): a version fixes every language at once, so a code's event can say which text the
customer received by naming the template, its language and its version. A ``TemplateRecord``
is changed only by making a new one; the store keeps it with compare-and-set on ``revision``,
so two editors saving or publishing at once never lose an edit (one gets ``TemplateConflict``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import attrs

from domain.errors import InvalidTemplate, TemplateNotFound
from domain.template import NotificationTemplate

MAX_NOTE = 500
# A name becomes a folder (the export) and a path of the management API; a language a file.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}")


@attrs.frozen(kw_only=True)
class PublishedVersion:
    number: int
    templates: tuple[NotificationTemplate, ...]
    note: str
    author: str
    published_at: datetime
    # A rollback publishes an earlier version again: which one.
    republished: int | None = None

    def language(self, language: str) -> NotificationTemplate | None:
        found = next((t for t in self.templates if t.language == language), None)
        return attrs.evolve(found, version=self.number) if found is not None else None


@attrs.frozen(kw_only=True)
class TemplateRecord:
    name: str
    # Every change adds one; a change names the revision it was made on.
    revision: int = 0
    draft: tuple[NotificationTemplate, ...] = ()
    versions: tuple[PublishedVersion, ...] = ()
    current: int | None = None

    # ------------------------------------------------------------------ reading

    @property
    def published(self) -> PublishedVersion | None:
        """The version in service, or None before the first publish."""
        return self.version(self.current) if self.current is not None else None

    def version(self, number: int) -> PublishedVersion | None:
        return next((v for v in self.versions if v.number == number), None)

    def served(self, language: str) -> NotificationTemplate | None:
        """The current version's template in ``language``, carrying its version number."""
        published = self.published
        return published.language(language) if published is not None else None

    @property
    def languages(self) -> tuple[str, ...]:
        published = self.published
        return tuple(sorted(t.language for t in published.templates)) if published else ()

    @property
    def draft_differs(self) -> bool:
        """Whether the draft holds something the current version does not."""
        published = self.published
        if not self.draft:
            return False
        return published is None or _by_language(self.draft) != _by_language(published.templates)

    # ------------------------------------------------------------------ changing

    def with_draft(self, templates: Iterable[NotificationTemplate]) -> TemplateRecord:
        draft = check_draft(self.name, templates)
        return attrs.evolve(self, draft=draft, revision=self.revision + 1)

    def publish(self, note: str, author: str, at: datetime) -> TemplateRecord:
        """The draft becomes a new version, and the current one."""
        if not self.draft:
            raise InvalidTemplate(f"Template {self.name!r} has no draft to publish.")
        if not self.draft_differs:
            raise InvalidTemplate(
                f"The draft of {self.name!r} is version {self.current} already: nothing to publish."
            )
        return self._new_version(self.draft, note, author, at, None)

    def rollback(self, number: int, note: str, author: str, at: datetime) -> TemplateRecord:
        """Publishes version ``number`` again, as a new version; the draft becomes it too."""
        earlier = self.version(number)
        if earlier is None:
            raise TemplateNotFound(f"Template {self.name!r} has no version {number}.")
        if number == self.current:
            raise InvalidTemplate(f"Version {number} of {self.name!r} is the current one already.")
        return self._new_version(earlier.templates, note, author, at, number)

    def _new_version(
        self,
        templates: tuple[NotificationTemplate, ...],
        note: str,
        author: str,
        at: datetime,
        republished: int | None,
    ) -> TemplateRecord:
        note = check_note(note)
        number = max((v.number for v in self.versions), default=0) + 1
        stored = tuple(attrs.evolve(t, version=None) for t in templates)
        version = PublishedVersion(
            number=number,
            templates=stored,
            note=note,
            author=author,
            published_at=at,
            republished=republished,
        )
        return attrs.evolve(
            self,
            versions=(*self.versions, version),
            current=number,
            draft=stored,
            revision=self.revision + 1,
        )


def check_note(note: str) -> str:
    note = note.strip()
    if not note:
        raise InvalidTemplate("A publish needs a note: say what changed and why.")
    if len(note) > MAX_NOTE or not note.isprintable():
        raise InvalidTemplate(f"The note must be at most {MAX_NOTE} printable characters.")
    return note


def check_draft(
    name: str, templates: Iterable[NotificationTemplate]
) -> tuple[NotificationTemplate, ...]:
    """One template per language, all of ``name`` and of one channel, declaring the same
    parameters: what a version is made of."""
    if not NAME.fullmatch(name):
        raise InvalidTemplate(
            "A template name is 1 to 128 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit."
        )
    draft = tuple(sorted(templates, key=lambda t: t.language))
    if not draft:
        raise InvalidTemplate(f"Template {name!r} needs at least one language.")
    first = draft[0]
    languages = [t.language for t in draft]
    if len(set(languages)) != len(languages):
        raise InvalidTemplate(f"Template {name!r} names a language twice.")
    for template in draft:
        if not LANGUAGE.fullmatch(template.language):
            raise InvalidTemplate(
                f"{template.language[:20]!r} is not a language code (en, ro, pt-br)."
            )
        if template.name != name:
            raise InvalidTemplate(f"A draft of {name!r} holds the template {template.name!r}.")
        if template.channel != first.channel:
            raise InvalidTemplate(f"Every language of {name!r} must be for one channel.")
        if template.parameters != first.parameters:
            raise InvalidTemplate(f"Every language of {name!r} must declare the same parameters.")
        if template.forward_on_kafka != first.forward_on_kafka:
            raise InvalidTemplate(f"Every language of {name!r} must forward alike.")
        if not template.text.strip():
            raise InvalidTemplate(f"The {template.language} text of {name!r} is empty.")
    return tuple(attrs.evolve(t, version=None) for t in draft)


def _by_language(templates: Iterable[NotificationTemplate]) -> dict[str, NotificationTemplate]:
    return {t.language: attrs.evolve(t, version=None) for t in templates}
