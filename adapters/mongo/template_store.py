"""Templates kept in a MongoDB collection, one document per (name, language)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from adapters.mongo.client import TEMPLATES, Document, StoreFailure, store_error
from domain.channel import Channel
from domain.errors import InternalError
from domain.template import NotificationTemplate, TemplateParameter


def template_to_document(template: NotificationTemplate) -> dict[str, Any]:
    return {
        "name": template.name,
        "language": template.language,
        "channel": template.channel.value,
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
        "parameters": [
            {"name": p.name, "mandatory": p.mandatory, "description": p.description}
            for p in template.parameters
        ],
        "forwardOnKafka": template.forward_on_kafka,
    }


def template_from_document(doc: dict[str, Any]) -> NotificationTemplate:
    return NotificationTemplate(
        name=doc["name"],
        channel=Channel.named(doc["channel"]),
        language=doc["language"],
        text=doc["text"],
        subject=doc.get("subject"),
        html=doc.get("html"),
        parameters=tuple(
            TemplateParameter(p["name"], bool(p.get("mandatory")), str(p.get("description", "")))
            for p in doc.get("parameters", [])
        ),
        forward_on_kafka=bool(doc.get("forwardOnKafka", False)),
    )


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
