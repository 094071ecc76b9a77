"""Templates kept in a MongoDB collection, one document per (name, language): the form before
versions (adapters/mongo/template_records.py), still served for names never published."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from adapters.mongo.client import TEMPLATES, Document, StoreFailure, store_error
from adapters.templates.catalog import template_from_document, template_to_document
from domain.errors import InternalError
from domain.template import NotificationTemplate


def _template_id(name: str, language: str) -> str:
    # One document per (name, language), found by its primary key.
    return f"{name}:{language}"


class MongoTemplateStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._templates = db[TEMPLATES]

    async def find(self, name: str, language: str) -> NotificationTemplate | None:
        try:
            doc = await self._templates.find_one({"_id": _template_id(name, language)})
        except StoreFailure as exc:
            raise store_error(exc, "The template store") from None
        if doc is None:
            return None
        try:
            return template_from_document(doc)
        except (KeyError, TypeError, ValueError) as exc:
            raise InternalError(f"Template {name!r} ({language}) is malformed: {exc}.") from None

    async def names(self) -> list[str]:
        try:
            return sorted(await self._templates.distinct("name"))
        except StoreFailure as exc:
            raise store_error(exc, "The template store") from None

    async def languages(self, name: str) -> list[str]:
        try:
            return sorted(await self._templates.distinct("language", {"name": name}))
        except StoreFailure as exc:
            raise store_error(exc, "The template store") from None

    async def upsert(self, template: NotificationTemplate) -> None:
        """Creates or replaces the template's document for its (name, language)."""
        try:
            await self._templates.replace_one(
                {"_id": _template_id(template.name, template.language)},
                template_to_document(template),
                upsert=True,
            )
        except StoreFailure as exc:
            raise store_error(exc, "The template store") from None
