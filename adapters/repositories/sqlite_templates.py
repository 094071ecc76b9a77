"""Templates with versions in the embedded default's SQLite file: one row per template name,
its record as JSON, changed by compare-and-set on ``revision`` (the table ``template_records``
of adapters/repositories/sqlite.py)."""

from __future__ import annotations

import json
import sqlite3

from adapters.repositories.sqlite import SqliteFile
from adapters.templates.catalog import Document
from domain.errors import DependencyUnavailable


class SqliteRecords:
    """The ``RecordTable`` of ``VersionedTemplates`` in SQLite."""

    def __init__(self, database: SqliteFile) -> None:
        self._db = database

    async def _execute(
        self, sql: str, params: tuple[object, ...] = ()
    ) -> tuple[list[tuple[str, ...]], int]:
        try:
            rows, changed = await self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise DependencyUnavailable(
                f"The template store failed: {type(exc).__name__}."
            ) from None
        return rows, changed

    async def get(self, name: str) -> Document | None:
        rows, _ = await self._execute(
            "SELECT document FROM template_records WHERE name = ?", (name,)
        )
        return json.loads(rows[0][0]) if rows else None

    async def served(self, name: str) -> Document | None:
        rows, _ = await self._execute("SELECT served FROM template_records WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else None

    async def all(self) -> list[Document]:
        rows, _ = await self._execute("SELECT document FROM template_records ORDER BY name")
        return [json.loads(row[0]) for row in rows]

    async def published(self) -> list[str]:
        rows, _ = await self._execute(
            "SELECT name FROM template_records WHERE served IS NOT NULL ORDER BY name"
        )
        return [row[0] for row in rows]

    async def insert(self, document: Document) -> bool:
        _, changed = await self._execute(
            "INSERT INTO template_records (name, revision, served, document) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            _row(document),
        )
        return changed == 1

    async def replace(self, document: Document, revision: int) -> bool:
        name, new_revision, served, text = _row(document)
        _, changed = await self._execute(
            "UPDATE template_records SET revision = ?, served = ?, document = ?"
            " WHERE name = ? AND revision = ?",
            (new_revision, served, text, name, revision),
        )
        return changed == 1


def _row(document: Document) -> tuple[str, int, str | None, str]:
    served = document.get("served")
    return (
        document["name"],
        document["revision"],
        json.dumps(served) if served is not None else None,
        json.dumps(document),
    )
