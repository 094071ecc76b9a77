"""Templates with versions in the real MongoDB-wire server: what a publish serves, a rollback,
ten editors publishing at once (one wins, the others get a conflict, nothing is lost), and the
templates of the form before versions still served until a name is published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import attrs
import pytest

from adapters.mongo.client import connect, ensure_indexes
from adapters.mongo.template_records import MongoRecords
from adapters.mongo.template_store import MongoTemplateStore
from adapters.templates.catalog import VersionedTemplates
from domain.errors import TemplateConflict
from tests.integration.servers import fresh_database_name, mongo_uri
from tests.unit.test_template_versions import EN, RO, Editor, _published

pytestmark = [pytest.mark.integration, pytest.mark.mongo]


async def _catalog() -> AsyncIterator[tuple[VersionedTemplates, MongoTemplateStore]]:
    client = connect(mongo_uri())
    db = client[fresh_database_name()]
    await ensure_indexes(db)
    earlier = MongoTemplateStore(db)
    try:
        yield VersionedTemplates(MongoRecords(db), earlier=earlier), earlier
    finally:
        await client.drop_database(db.name)
        await client.close()


def test_publish_rollback_and_ten_editors_at_once() -> None:
    async def scenario() -> None:
        async for catalog, _ in _catalog():
            editor = Editor(catalog)
            record = await _published(editor, "Old {{ otpValue }} {{ name }}", "New {{ otpValue }}")
            served = await catalog.find("login", "en")
            assert served is not None and (served.version, served.text[:3]) == (2, "New")
            record = await editor.rollback.execute("login", 1, "back", record.revision, "bob")
            served = await catalog.find("login", "en")
            assert served is not None and (served.version, served.text[:3]) == (3, "Old")
            assert await catalog.names() == ["login"]
            assert await catalog.languages("login") == ["en", "ro"]

            # Ten editors read the same revision and publish their own text at once.
            read = await catalog.record("login")
            assert read is not None
            drafts = [
                read.with_draft([attrs.evolve(EN, text=f"Text {n} {{{{ otpValue }}}}"), RO])
                for n in range(10)
            ]
            tries = [
                catalog.save(d.publish(f"editor {n}", f"e{n}", editor.clock.now()), read.revision)
                for n, d in enumerate(drafts)
            ]
            done = await asyncio.gather(*tries, return_exceptions=True)
            won = [n for n, result in enumerate(done) if result is None]
            assert len(won) == 1, done
            assert all(isinstance(r, TemplateConflict) for r in done if r is not None)
            final = await catalog.record("login")
            assert final is not None
            assert [v.number for v in final.versions] == [1, 2, 3, 4]
            assert final.versions[-1].author == f"e{won[0]}"
            served = await catalog.find("login", "en")
            assert served is not None and served.text.startswith(f"Text {won[0]} ")

    asyncio.run(scenario())


def test_templates_stored_before_versions_are_served_until_published() -> None:
    async def scenario() -> None:
        async for catalog, earlier in _catalog():
            await earlier.upsert(attrs.evolve(EN, name="legacy", text="Legacy {{ otpValue }}"))
            served = await catalog.find("legacy", "en")
            assert served is not None and served.version is None
            assert await catalog.names() == ["legacy"]
            editor = Editor(catalog)
            record = await editor.save.execute(
                "legacy", [attrs.evolve(EN, name="legacy", text="V1 {{ otpValue }} {{ name }}")],
                0, "ana",
            )  # fmt: skip
            # A draft does not hide the old text; the publish does.
            served = await catalog.find("legacy", "en")
            assert served is not None and served.text.startswith("Legacy")
            await editor.publish.execute("legacy", "versioned now", record.revision, "ana")
            served = await catalog.find("legacy", "en")
            assert served is not None and (served.version, served.text[:2]) == (1, "V1")

    asyncio.run(scenario())
