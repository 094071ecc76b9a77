"""Templates with versions: drafts, publishing, rollback, conflicts, checks and the import, on
the memory and SQLite catalogs (MongoDB's in tests/integration/test_template_records.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import pytest

from adapters.channels.sms_segments import SmsLengthCheck
from adapters.clock import ManualClock
from adapters.repositories.sqlite import open_sqlite
from adapters.repositories.sqlite_templates import SqliteRecords
from adapters.templates.catalog import MemoryRecords, VersionedTemplates
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from adapters.templates.memory_store import InMemoryTemplateStore
from adapters.templates.toml_format import build_template, dumps_meta, loads
from application.events import LifecycleEvents, OtpEvent
from application.use_cases.template_versions import (
    CheckDraft,
    ImportTemplates,
    PreviewDraft,
    Publish,
    Rollback,
    SaveDraft,
    diff,
)
from domain.channel import Channel
from domain.errors import (
    InvalidTemplate,
    TemplateConflict,
    TemplateNotFound,
    TemplateParameterInvalid,
    TemplateParameterMissing,
)
from domain.policy import OtpPolicy
from domain.template import NotificationTemplate, TemplateParameter
from domain.template_versions import TemplateRecord
from entrypoints import dispatch
from tests.harness import Harness

EN = NotificationTemplate(
    name="login",
    channel=Channel.SMS,
    language="en",
    text="Your code is {{ otpValue }}, {{ name }}",
    parameters=(TemplateParameter("name", mandatory=True),),
)
RO = attrs.evolve(EN, language="ro", text="Codul este {{ otpValue }}, {{ name }}")


@pytest.fixture(params=["memory", "sqlite"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionedTemplates]:
    loop = asyncio.new_event_loop()
    if request.param == "memory":
        yield VersionedTemplates(MemoryRecords())
    else:
        database = loop.run_until_complete(open_sqlite(tmp_path / "otp.sqlite3"))
        yield VersionedTemplates(SqliteRecords(database))
        loop.run_until_complete(database.close())
    loop.close()


class Editor:
    def __init__(self, catalog: VersionedTemplates) -> None:
        self.catalog = catalog
        self.clock = ManualClock()
        renderer = JinjaTemplateRenderer()
        self.save = SaveDraft(catalog=catalog, clock=self.clock, renderer=renderer)
        self.publish = Publish(catalog=catalog, clock=self.clock)
        self.rollback = Rollback(catalog=catalog, clock=self.clock)


async def _published(editor: Editor, *texts: str) -> TemplateRecord:
    """The login template saved and published once per text (English), from scratch."""
    record = None
    for n, text in enumerate(texts):
        revision = record.revision if record else 0
        record = await editor.save.execute(
            "login", [attrs.evolve(EN, text=text), RO], revision, "ana"
        )
        record = await editor.publish.execute("login", f"change {n}", record.revision, "ana")
    assert record is not None
    return record


def test_a_draft_is_not_served_until_it_is_published(catalog: VersionedTemplates) -> None:
    editor = Editor(catalog)

    async def scenario() -> None:
        record = await editor.save.execute("login", [EN, RO], 0, "ana")
        assert record.revision == 1 and record.current is None
        assert await catalog.find("login", "en") is None
        assert await catalog.names() == []
        record = await editor.publish.execute("login", "first text", 1, "ana")
        served = await catalog.find("login", "ro")
        assert served is not None and served.version == 1 and served.text == RO.text
        assert await catalog.names() == ["login"]
        assert await catalog.languages("login") == ["en", "ro"]
        kept = await catalog.record("login")
        assert kept is not None and kept.versions[0].author == "ana"
        assert kept.versions[0].note == "first text"

    asyncio.run(scenario())


def test_publish_serves_the_new_version_and_rollback_the_old_one(
    catalog: VersionedTemplates,
) -> None:
    editor = Editor(catalog)

    async def scenario() -> None:
        record = await _published(
            editor, "Old {{ otpValue }} {{ name }}", "New {{ otpValue }} {{ name }}"
        )
        served = await catalog.find("login", "en")
        assert served is not None and (served.version, served.text[:3]) == (2, "New")
        record = await editor.rollback.execute(
            "login", 1, "the new text confused people", record.revision, "bob"
        )
        served = await catalog.find("login", "en")
        assert served is not None and (served.version, served.text[:3]) == (3, "Old")
        assert record.versions[-1].republished == 1
        assert record.versions[-1].author == "bob"
        # The draft follows the rollback: the next edit starts from what is served.
        assert record.draft[0].text.startswith("Old")
        assert [v.number for v in record.versions] == [1, 2, 3]

    asyncio.run(scenario())


def test_two_editors_publishing_at_once_one_wins_and_nothing_is_lost(
    catalog: VersionedTemplates,
) -> None:
    editor = Editor(catalog)

    async def scenario() -> None:
        record = await _published(editor, "One {{ otpValue }} {{ name }}")
        read = await catalog.record("login")
        assert read is not None
        # Both edit the draft they read; the first to save wins.
        mine = read.with_draft([attrs.evolve(EN, text="Mine {{ otpValue }} {{ name }}"), RO])
        theirs = read.with_draft([attrs.evolve(EN, text="Theirs {{ otpValue }} {{ name }}"), RO])
        await catalog.save(mine, read.revision)
        with pytest.raises(TemplateConflict):
            await catalog.save(theirs, read.revision)
        # Through the use cases, a publish on the revision before gets the conflict too.
        with pytest.raises(TemplateConflict, match="revision"):
            await editor.publish.execute("login", "theirs", read.revision, "bob")
        kept = await catalog.record("login")
        assert kept is not None and kept.draft[0].text.startswith("Mine")
        assert kept.revision == record.revision + 1
        concurrent = await asyncio.gather(
            editor.publish.execute("login", "a", kept.revision, "ana"),
            editor.publish.execute("login", "b", kept.revision, "bob"),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in concurrent) == [
            "TemplateConflict",
            "TemplateRecord",
        ]
        final = await catalog.record("login")
        assert final is not None and [v.number for v in final.versions] == [1, 2]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("draft", "says"),
    [
        ([], "at least one language"),
        ([EN, attrs.evolve(RO, channel=Channel.MAIL, subject="s")], "one channel"),
        ([EN, attrs.evolve(RO, parameters=())], "same parameters"),
        ([EN, attrs.evolve(EN, text="again")], "language twice"),
        ([attrs.evolve(EN, name="other")], "holds the template 'other'"),
        ([attrs.evolve(EN, text="  ")], "text of 'login' is empty"),
        ([attrs.evolve(EN, text="{% if %}")], "Line 1"),
        ([attrs.evolve(EN, text="{{ otpValue }", language="en")], "Line 1"),
    ],
)
def test_a_draft_that_could_not_be_served_is_refused(
    catalog: VersionedTemplates, draft: list[NotificationTemplate], says: str
) -> None:
    editor = Editor(catalog)
    with pytest.raises(InvalidTemplate, match=says):
        asyncio.run(editor.save.execute("login", draft, 0, "ana"))
    assert asyncio.run(catalog.record("login")) is None


def test_publishing_needs_a_note_and_a_change(catalog: VersionedTemplates) -> None:
    editor = Editor(catalog)

    async def scenario() -> None:
        record = await editor.save.execute("login", [EN], 0, "ana")
        with pytest.raises(InvalidTemplate, match="needs a note"):
            await editor.publish.execute("login", "  ", record.revision, "ana")
        with pytest.raises(InvalidTemplate, match="printable"):
            await editor.publish.execute("login", "a\x1b[31m", record.revision, "ana")
        record = await editor.publish.execute("login", "first", record.revision, "ana")
        with pytest.raises(InvalidTemplate, match="nothing to publish"):
            await editor.publish.execute("login", "again", record.revision, "ana")
        with pytest.raises(InvalidTemplate, match="current one already"):
            await editor.rollback.execute("login", 1, "back", record.revision, "ana")
        with pytest.raises(TemplateNotFound, match="no version 7"):
            await editor.rollback.execute("login", 7, "back", record.revision, "ana")
        with pytest.raises(TemplateNotFound):
            await editor.publish.execute("nothing", "x", 1, "ana")

    asyncio.run(scenario())


def test_a_check_names_undeclared_and_unused_parameters() -> None:
    check = CheckDraft(renderer=JinjaTemplateRenderer(), policy=OtpPolicy())
    draft = [
        attrs.evolve(
            EN,
            text="{{ otpValue }} for {{ validMinutes }} min, {{ nmae }}",
            parameters=(TemplateParameter("name", mandatory=True), TemplateParameter("amount")),
        )
    ]
    found = check.execute(draft)
    assert found.undeclared == ("nmae",)
    assert found.unused == ("amount", "name")
    assert not found.ok
    assert check.execute([EN]).ok


def test_a_preview_renders_a_draft_with_sample_data() -> None:
    preview = PreviewDraft(
        renderer=JinjaTemplateRenderer(),
        policy=OtpPolicy(),
        checks={Channel.SMS: SmsLengthCheck(2)},
    )
    shown = preview.execute(EN, {"name": "Ana"})
    assert shown.message.text == "Your code is 012345, Ana"
    assert shown.carried == {"encoding": "GSM-7", "parts": 1, "maxParts": 2, "characters": 24}
    assert shown.refusal is None
    long = preview.execute(attrs.evolve(EN, text="ă{{ otpValue }}{{ name }}"), {"name": "x" * 200})
    assert long.carried["encoding"] == "UCS-2" and long.carried["parts"] == 4
    assert long.refusal is not None and "4 segments" in long.refusal
    with pytest.raises(TemplateParameterMissing):
        preview.execute(EN, {})


def test_a_diff_names_the_changed_lines(catalog: VersionedTemplates) -> None:
    editor = Editor(catalog)
    record = asyncio.run(
        _published(editor, "Old {{ otpValue }} {{ name }}", "New {{ otpValue }} {{ name }}")
    )
    lines = diff(record, 1, 2)
    assert "-[en] text: Old {{ otpValue }} {{ name }}" in lines
    assert "+[en] text: New {{ otpValue }} {{ name }}" in lines
    assert not any(line.startswith(("-[ro]", "+[ro]")) for line in lines)
    assert diff(record, 2) == []  # the draft is version 2
    with pytest.raises(TemplateNotFound):
        diff(record, 9)


def test_an_import_publishes_what_changed_only(catalog: VersionedTemplates) -> None:
    folder = InMemoryTemplateStore([EN, RO])
    clock = ManualClock()
    use_case = ImportTemplates(catalog=catalog, clock=clock, source=folder)
    first = asyncio.run(use_case.execute())
    assert [(i.name, i.languages, i.version) for i in first] == [("login", ("en", "ro"), 1)]
    assert [i.version for i in asyncio.run(use_case.execute())] == [None]
    folder.put(attrs.evolve(RO, text="Cod: {{ otpValue }}, {{ name }}"))
    assert [i.version for i in asyncio.run(use_case.execute())] == [2]
    served = asyncio.run(catalog.find("login", "ro"))
    assert served is not None and served.text.startswith("Cod:") and served.version == 2


class Published:
    """An event publisher that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[OtpEvent] = []

    async def publish(self, events: Sequence[OtpEvent]) -> None:
        self.events.extend(events)


def test_a_generate_says_which_version_it_sent_and_the_events_too() -> None:
    harness = Harness()
    catalog = VersionedTemplates(MemoryRecords())
    harness.run(_published(Editor(catalog), "A {{ otpValue }} {{ name }}", "B {{ otpValue }}"))
    harness.templates = catalog  # type: ignore[assignment]
    harness.use_repository(harness.repository)  # wired again, with the catalog
    published = Published()
    events = LifecycleEvents(
        published, harness.adapters.pseudonyms(), harness.clock, harness.adapters.chance()
    )
    request = {"templateName": "login", "channel": "SMS", "recipient": "+40722123456",
               "clientId": "c1", "language": "ro", "data": {"name": "Ana"}}  # fmt: skip
    outcome = harness.run(dispatch.generate(harness.generate_use_case, request, 7, events=events))
    assert outcome.reply["otpSent"] is True
    assert harness.sms.sent[-1].message.text.startswith("Codul")
    assert [e.type.value for e in published.events] == ["issued", "accepted"]
    assert {(e.template, e.template_language, e.template_version) for e in published.events} == {
        ("login", "ro", 2)
    }
    # The code's validation names the version it was sent with, even after a later publish.
    harness.run(_published_again(Editor(catalog), "C {{ otpValue }}"))
    code = harness.last_code()
    check = {"clientId": "c1", "channel": "SMS", "otp": code}
    judged = harness.run(dispatch.validate(harness.validate_use_case, check, 8, events=events))
    assert judged.reply["otpValid"] is True
    validated = published.events[-1]
    assert (validated.type.value, validated.template_version) == ("validated", 2)
    assert validated.template_language == "ro"
    harness.close()


async def _published_again(editor: Editor, text: str) -> None:
    record = await editor.catalog.record("login")
    assert record is not None
    record = await editor.save.execute(
        "login", [attrs.evolve(EN, text=text), RO], record.revision, "ana"
    )
    await editor.publish.execute("login", "later", record.revision, "ana")


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("number", [12, 12.5, "12.50", "-3", "7,25"], ["twelve", True, "1e9", float("nan")]),
        ("date", ["2026-12-07"], ["07.12.2026", "tomorrow", 20261207]),
        ("text", ["anything", 12], []),
    ],
)
def test_a_typed_parameter_takes_only_values_of_its_type(
    kind: str, good: list[object], bad: list[object]
) -> None:
    template = attrs.evolve(EN, parameters=(TemplateParameter("name", True, "", kind),))
    for value in good:
        template.check_parameters({"name": value})
    for value in bad:
        with pytest.raises(TemplateParameterInvalid, match=f"'name' must be a {kind}"):
            template.check_parameters({"name": value})


def test_a_generate_with_a_value_not_of_its_type_is_refused_before_anything_is_sent() -> None:
    harness = Harness()
    amount = NotificationTemplate(
        name="pay", channel=Channel.SMS, language="en", text="{{ otpValue }} pays {{ amount }}",
        parameters=(TemplateParameter("amount", True, "", "number"),),
    )  # fmt: skip
    harness.templates.put(amount)
    reply = harness.generate(templateName="pay", data={"amount": "a lot"})
    assert (reply["otpSent"], reply["errorCode"]) == (False, "INVALID_REQUEST")
    assert "'amount' must be a number" in reply["error"]
    assert harness.sms.sent == []
    assert harness.generate(templateName="pay", data={"amount": "12.50"})["otpSent"] is True
    harness.close()


def test_a_parameter_type_survives_every_stored_form(catalog: VersionedTemplates) -> None:
    typed = attrs.evolve(EN, parameters=(TemplateParameter("name", True, "who", "date"),))
    editor = Editor(catalog)
    record = asyncio.run(editor.save.execute("login", [typed], 0, "ana"))
    kept = asyncio.run(catalog.record("login"))
    assert kept is not None and kept.draft[0].parameters == typed.parameters
    assert record.draft == kept.draft
    meta = loads(dumps_meta(typed))
    assert build_template("login", "en", meta, {"text": typed.text}).parameters == typed.parameters
