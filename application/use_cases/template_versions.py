"""Editing templates with versions (docs/templates.md): save a draft, check it, publish it with a
note, roll back to an earlier version, read the history, compare two versions, import a folder.

Every change names the revision it was made on and is stored by compare-and-set: of two editors
publishing at once one wins, the other gets ``TemplateConflict`` and nothing is lost. Every
change is an audit line (``template.changed``: who, what, which version, when)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import attrs
import structlog

from application.messages import message_parameters
from application.ports import (
    Clock,
    DescribedCheck,
    MessageCheck,
    TemplateCatalog,
    TemplateRenderer,
    TemplateStore,
)
from domain.channel import Channel
from domain.errors import OtpError, TemplateConflict, TemplateNotFound, TemplateParameterMissing
from domain.notification import Notification
from domain.policy import OtpPolicy
from domain.recipient import Recipient
from domain.template import (
    CONTEXT_PARAMETER,
    OTP_PARAMETER,
    VALIDITY_PARAMETER,
    NotificationTemplate,
    RenderedMessage,
)
from domain.template_versions import TemplateRecord

log = structlog.get_logger(__name__)

# What the service fills in itself: a template may use them without declaring them.
SERVICE_PARAMETERS = frozenset({OTP_PARAMETER, VALIDITY_PARAMETER, CONTEXT_PARAMETER})


class TemplateEditing:
    """What every editing use case needs: the catalog, the clock, and the audit line."""

    def __init__(self, *, catalog: TemplateCatalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    async def _record(self, name: str) -> TemplateRecord:
        record = await self._catalog.record(name)
        if record is None:
            raise TemplateNotFound(f"There is no template named {name!r}.")
        return record

    async def _store(
        self, before: TemplateRecord, after: TemplateRecord, action: str, author: str
    ) -> TemplateRecord:
        await self._catalog.save(after, before.revision)
        log.info(
            "template.changed",
            action=action,
            template=after.name,
            author=author,
            revision=after.revision,
            version=after.current,
            at=self._clock.now().isoformat(),
        )
        return after


class ShowRecord(TemplateEditing):
    async def execute(self, name: str) -> TemplateRecord:
        return await self._record(name)

    async def find(self, name: str) -> TemplateRecord | None:
        return await self._catalog.record(name)


class ListRecords(TemplateEditing):
    async def execute(self) -> list[TemplateRecord]:
        return await self._catalog.records()


class SaveDraft(TemplateEditing):
    """Replaces the draft (every language at once) of a template, creating it when new:
    ``revision`` is the one the editor read (0 for a new template). A text that does not parse
    is refused here, so that no published version can fail at send time."""

    def __init__(
        self, *, catalog: TemplateCatalog, clock: Clock, renderer: TemplateRenderer
    ) -> None:
        super().__init__(catalog=catalog, clock=clock)
        self._renderer = renderer

    async def execute(
        self, name: str, templates: Iterable[NotificationTemplate], revision: int, author: str
    ) -> TemplateRecord:
        before = await self._catalog.record(name) or TemplateRecord(name=name)
        _same_revision(before, revision)
        after = before.with_draft(templates)
        for template in after.draft:
            for text in (template.text, template.subject, template.html):
                if text is not None:
                    self._renderer.names(text)
        return await self._store(before, after, "save_draft", author)


class Publish(TemplateEditing):
    async def execute(self, name: str, note: str, revision: int, author: str) -> TemplateRecord:
        before = await self._record(name)
        _same_revision(before, revision)
        after = before.publish(note, author, self._clock.now())
        return await self._store(before, after, "publish", author)


class Rollback(TemplateEditing):
    async def execute(
        self, name: str, version: int, note: str, revision: int, author: str
    ) -> TemplateRecord:
        before = await self._record(name)
        _same_revision(before, revision)
        after = before.rollback(version, note, author, self._clock.now())
        return await self._store(before, after, "rollback", author)


def _same_revision(record: TemplateRecord, revision: int) -> None:
    """A change made on a revision that is not the stored one is refused before it is tried
    (the store's compare-and-set refuses the races this cannot see)."""
    if record.revision != revision:
        raise TemplateConflict(
            f"Template {record.name!r} is at revision {record.revision}, not {revision}: "
            "someone else changed it; read it again and redo the change."
        )


@attrs.frozen
class ImportedTemplate:
    name: str
    languages: tuple[str, ...]
    # The version the import published, or None when the folder held the current one.
    version: int | None


class ImportTemplates(TemplateEditing):
    """Loads a folder of templates: each becomes a draft and, when it differs from the
    current version, a new published version noted as imported."""

    def __init__(self, *, catalog: TemplateCatalog, clock: Clock, source: TemplateStore) -> None:
        super().__init__(catalog=catalog, clock=clock)
        self._source = source

    async def execute(self, author: str = "otp templates import") -> list[ImportedTemplate]:
        imported = []
        for name in await self._source.names():
            templates = [
                found
                for language in await self._source.languages(name)
                if (found := await self._source.find(name, language)) is not None
            ]
            before = await self._catalog.record(name) or TemplateRecord(name=name)
            drafted = before.with_draft(templates)
            if not drafted.draft_differs:
                imported.append(ImportedTemplate(name, drafted.languages, None))
                continue
            after = drafted.publish("imported from a template folder", author, self._clock.now())
            await self._store(before, after, "import", author)
            imported.append(ImportedTemplate(name, after.languages, after.current))
        return imported


# ---------------------------------------------------------------- checking and previewing


@attrs.frozen
class DraftCheck:
    """What a product owner should fix before publishing."""

    # Names the texts use that are neither declared nor filled in by the service.
    undeclared: tuple[str, ...]
    # Declared parameters no text uses.
    unused: tuple[str, ...]
    # Languages whose text cannot be rendered, with why.
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.undeclared or self.problems)


class CheckDraft:
    """Renders each language of a draft with a sample of every declared parameter."""

    def __init__(self, *, renderer: TemplateRenderer, policy: OtpPolicy) -> None:
        self._renderer = renderer
        self._policy = policy

    def execute(self, templates: Iterable[NotificationTemplate]) -> DraftCheck:
        used: set[str] = set()
        problems = []
        declared: set[str] = set()
        for template in templates:
            declared |= {p.name for p in template.parameters}
            for text in (template.text, template.subject, template.html):
                if text is not None:
                    used |= self._renderer.names(text)
            try:
                self._renderer.render(template, self._sample(template))
            except TemplateParameterMissing:
                pass  # named in ``undeclared``
            except OtpError as exc:
                problems.append(f"{template.language}: {exc.message}")
        undeclared = used - declared - SERVICE_PARAMETERS
        return DraftCheck(
            tuple(sorted(undeclared)), tuple(sorted(declared - used)), tuple(problems)
        )

    def _sample(self, template: NotificationTemplate) -> dict[str, object]:
        given = {p.name: f"<{p.name}>" for p in template.parameters}
        return message_parameters(given, "0" * self._policy.length, self._policy, None)


@attrs.frozen
class DraftPreview:
    message: RenderedMessage
    # How the channel would carry it (an SMS: its encoding and parts), when it says.
    carried: Mapping[str, object]
    # Why the channel would refuse it (an SMS too long), or None.
    refusal: str | None


class PreviewDraft:
    """What a person would receive from one language of a draft, with sample data, and what
    the channel would make of it."""

    def __init__(
        self,
        *,
        renderer: TemplateRenderer,
        policy: OtpPolicy,
        checks: Mapping[Channel, MessageCheck] | None = None,
    ) -> None:
        self._renderer = renderer
        self._policy = policy
        self._checks = checks or {}

    def execute(self, template: NotificationTemplate, data: Mapping[str, object]) -> DraftPreview:
        sample = "0123456789"[: self._policy.length]
        values = message_parameters(data, sample, self._policy, None)
        template.check_parameters(values)
        message = self._renderer.render(template, values)
        check = self._checks.get(template.channel)
        if check is None:
            return DraftPreview(message, {}, None)
        notification = Notification(
            reference="preview",
            recipient=Recipient(template.channel, "preview"),
            template_name=template.name,
            language=template.language,
            message=message,
        )
        carried = check.describe(notification) if isinstance(check, DescribedCheck) else {}
        try:
            check.cost(notification)
        except OtpError as refused:
            return DraftPreview(message, carried, refused.message)
        return DraftPreview(message, carried, None)


def diff(record: TemplateRecord, older: int, newer: int | None = None) -> list[str]:
    """A unified diff of version ``older`` against ``newer`` (default: the draft), every
    language and field of each, one line each."""
    first = record.version(older)
    if first is None:
        raise TemplateNotFound(f"Template {record.name!r} has no version {older}.")
    if newer is None:
        second, label = record.draft, "draft"
    else:
        found = record.version(newer)
        if found is None:
            raise TemplateNotFound(f"Template {record.name!r} has no version {newer}.")
        second, label = found.templates, f"version {newer}"
    return list(
        difflib.unified_diff(
            _lines(first.templates), _lines(second), f"version {older}", label, lineterm=""
        )
    )


def _lines(templates: Iterable[NotificationTemplate]) -> list[str]:
    lines: list[str] = []
    for t in sorted(templates, key=lambda t: t.language):
        declared = ", ".join(f"{p.name}{'*' if p.mandatory else ''}" for p in t.parameters)
        lines.append(f"[{t.language}] channel: {t.channel.value}; parameters: {declared}")
        for field, text in (("subject", t.subject), ("text", t.text), ("html", t.html)):
            if text is not None:
                lines.extend(f"[{t.language}] {field}: {line}" for line in text.splitlines())
    return lines


@attrs.frozen
class TemplateEditor:
    """The editing use cases together, as the management API and the console use them."""

    show: ShowRecord
    list: ListRecords
    save_draft: SaveDraft
    publish: Publish
    rollback: Rollback
    check: CheckDraft
    preview: PreviewDraft
