"""Templates with versions over any store that can keep one document per template name with
compare-and-set: the record's document form, and the template store that serves each current
version. SQLite, MongoDB and memory differ only in the ``RecordTable`` underneath."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from application.ports import TemplateStore
from domain.channel import Channel
from domain.errors import InternalError, TemplateConflict
from domain.template import NotificationTemplate, TemplateParameter
from domain.template_versions import PublishedVersion, TemplateRecord

Document = dict[str, Any]


def template_to_document(template: NotificationTemplate) -> Document:
    return {
        "name": template.name,
        "language": template.language,
        "channel": template.channel.value,
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
        "parameters": [
            {"name": p.name, "mandatory": p.mandatory, "description": p.description, "type": p.type}
            for p in template.parameters
        ],
        "forwardOnKafka": template.forward_on_kafka,
    }


def template_from_document(doc: Document, version: int | None = None) -> NotificationTemplate:
    return NotificationTemplate(
        name=doc["name"],
        channel=Channel.named(doc["channel"]),
        language=doc["language"],
        text=doc["text"],
        subject=doc.get("subject"),
        html=doc.get("html"),
        parameters=tuple(
            TemplateParameter(
                p["name"],
                bool(p.get("mandatory")),
                str(p.get("description", "")),
                str(p.get("type", "text")),
            )
            for p in doc.get("parameters", [])
        ),
        forward_on_kafka=bool(doc.get("forwardOnKafka", False)),
        version=version,
    )


def _version_to_document(version: PublishedVersion) -> Document:
    return {
        "number": version.number,
        "templates": [template_to_document(t) for t in version.templates],
        "note": version.note,
        "author": version.author,
        "publishedAt": version.published_at.isoformat(),
        "republished": version.republished,
    }


def record_to_document(record: TemplateRecord) -> Document:
    """The stored form; ``served`` repeats the current version's texts, so that serving a
    request reads only them and not the history."""
    published = record.published
    return {
        "name": record.name,
        "revision": record.revision,
        "current": record.current,
        "draft": [template_to_document(t) for t in record.draft],
        "versions": [_version_to_document(v) for v in record.versions],
        "served": served_document(published) if published is not None else None,
    }


def served_document(version: PublishedVersion) -> Document:
    return {
        "number": version.number,
        "templates": {t.language: template_to_document(t) for t in version.templates},
    }


def record_from_document(doc: Document) -> TemplateRecord:
    try:
        return TemplateRecord(
            name=doc["name"],
            revision=int(doc["revision"]),
            current=doc.get("current"),
            draft=tuple(template_from_document(t) for t in doc.get("draft", [])),
            versions=tuple(
                PublishedVersion(
                    number=int(v["number"]),
                    templates=tuple(template_from_document(t) for t in v["templates"]),
                    note=v["note"],
                    author=v["author"],
                    published_at=datetime.fromisoformat(v["publishedAt"]),
                    republished=v.get("republished"),
                )
                for v in doc.get("versions", [])
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InternalError(f"Template {doc.get('name')!r} is malformed: {exc}.") from None


class RecordTable(Protocol):
    """One document per template name."""

    async def get(self, name: str) -> Document | None: ...

    async def served(self, name: str) -> Document | None:
        """Only the ``served`` part of the name's document (None: none, or never published)."""
        ...

    async def all(self) -> list[Document]: ...

    async def published(self) -> list[str]:
        """The names that have a current version, sorted."""
        ...

    async def insert(self, document: Document) -> bool:
        """False when a document of that name exists already."""
        ...

    async def replace(self, document: Document, revision: int) -> bool:
        """False when the stored document is not at ``revision`` any more."""
        ...


class VersionedTemplates:
    """A ``TemplateCatalog`` and the ``TemplateStore`` of its current versions.

    ``earlier`` is what the store served before it kept versions (MongoDB's ``templates``
    collection): a name never published here is still served from it, unversioned."""

    def __init__(self, table: RecordTable, earlier: TemplateStore | None = None) -> None:
        self._table = table
        self._earlier = earlier

    async def record(self, name: str) -> TemplateRecord | None:
        doc = await self._table.get(name)
        return record_from_document(doc) if doc is not None else None

    async def records(self) -> list[TemplateRecord]:
        found = [record_from_document(doc) for doc in await self._table.all()]
        return sorted(found, key=lambda r: r.name)

    async def save(self, record: TemplateRecord, expected_revision: int) -> None:
        doc = record_to_document(record)
        if expected_revision == 0:
            done = await self._table.insert(doc)
        else:
            done = await self._table.replace(doc, expected_revision)
        if not done:
            raise TemplateConflict(
                f"Template {record.name!r} was changed by someone else since it was read "
                f"(revision {expected_revision}); read it again and redo the change."
            )

    async def find(self, name: str, language: str) -> NotificationTemplate | None:
        served = await self._table.served(name)
        if served is None:
            return await self._earlier.find(name, language) if self._earlier else None
        doc = served["templates"].get(language)
        try:
            return template_from_document(doc, served["number"]) if doc is not None else None
        except (KeyError, TypeError, ValueError) as exc:
            raise InternalError(f"Template {name!r} ({language}) is malformed: {exc}.") from None

    async def names(self) -> list[str]:
        # Read by every /readyz: names only, never the records.
        published = set(await self._table.published())
        earlier = set(await self._earlier.names()) if self._earlier else set()
        return sorted(published | earlier)

    async def languages(self, name: str) -> list[str]:
        served = await self._table.served(name)
        if served is not None:
            return sorted(served["templates"])
        return await self._earlier.languages(name) if self._earlier else []


class MemoryRecords:
    """A ``RecordTable`` in memory: for tests and for trying the console."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    async def get(self, name: str) -> Document | None:
        return self._docs.get(name)

    async def served(self, name: str) -> Document | None:
        doc = self._docs.get(name)
        return doc["served"] if doc is not None else None

    async def all(self) -> list[Document]:
        return list(self._docs.values())

    async def published(self) -> list[str]:
        return sorted(name for name, doc in self._docs.items() if doc["served"] is not None)

    async def insert(self, document: Document) -> bool:
        return self._docs.setdefault(document["name"], document) is document

    async def replace(self, document: Document, revision: int) -> bool:
        stored = self._docs.get(document["name"])
        if stored is None or stored["revision"] != revision:
            return False
        self._docs[document["name"]] = document
        return True
