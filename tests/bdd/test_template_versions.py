"""Steps for features/template_versions.feature: the editing use cases over a template catalog
the service serves from, codes sent through it, and the versions they were sent with."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.templates.catalog import MemoryRecords, VersionedTemplates
from adapters.templates.jinja_renderer import JinjaTemplateRenderer
from application.use_cases.template_versions import Publish, Rollback, SaveDraft
from domain.channel import Channel
from domain.errors import TemplateConflict
from domain.template import NotificationTemplate
from tests.harness import Harness

scenarios("template_versions.feature")


@attrs.define
class Editing:
    catalog: VersionedTemplates
    save: SaveDraft
    publish: Publish
    rollback: Rollback
    results: list[Any] = attrs.field(factory=list)


@pytest.fixture
def editing(harness: Harness) -> Editing:
    catalog = VersionedTemplates(MemoryRecords())
    harness.templates = catalog  # type: ignore[assignment]
    harness.use_repository(harness.repository)  # the use cases now send from the catalog
    renderer = JinjaTemplateRenderer()
    return Editing(
        catalog,
        SaveDraft(catalog=catalog, clock=harness.clock, renderer=renderer),
        Publish(catalog=catalog, clock=harness.clock),
        Rollback(catalog=catalog, clock=harness.clock),
    )


def _sms(text: str) -> NotificationTemplate:
    return NotificationTemplate(name="login", channel=Channel.SMS, language="en", text=text)


def _revision(harness: Harness, editing: Editing) -> int:
    record = harness.run(editing.catalog.record("login"))
    return 0 if record is None else int(record.revision)


@given(parsers.parse('the SMS template "login" reads "{text}" in English'))
def login_template(harness: Harness, editing: Editing, text: str) -> None:
    harness.run(editing.save.execute("login", [_sms(text)], 0, "ana"))
    harness.run(editing.publish.execute("login", "the first text", 1, "ana"))


@when(parsers.parse('the product owner saves a draft reading "{text}"'))
def saves_draft(harness: Harness, editing: Editing, text: str) -> None:
    harness.run(editing.save.execute("login", [_sms(text)], _revision(harness, editing), "ana"))


@when(parsers.parse('the product owner publishes it with the note "{note}"'))
def publishes(harness: Harness, editing: Editing, note: str) -> None:
    harness.run(editing.publish.execute("login", note, _revision(harness, editing), "ana"))


@given(parsers.parse('the product owner published "{text}" as version 2'))
def published_second(harness: Harness, editing: Editing, text: str) -> None:
    saves_draft(harness, editing, text)
    publishes(harness, editing, "a second text")


@when(parsers.parse('the product owner rolls back to version {number:d} with the note "{note}"'))
def rolls_back(harness: Harness, editing: Editing, number: int, note: str) -> None:
    revision = _revision(harness, editing)
    harness.run(editing.rollback.execute("login", number, note, revision, "bob"))


@then(parsers.parse('the customer reads "{start}"'))
def customer_reads(harness: Harness, reply: dict[str, Any], start: str) -> None:
    assert reply["otpSent"] is True, reply
    assert harness.sms.sent[-1].message.text.startswith(start)


@then(parsers.parse('the code was sent with version {number:d} of "{name}"'))
def sent_with(harness: Harness, number: int, name: str) -> None:
    served = harness.run(harness.templates.find(name, "en"))
    assert served is not None and served.version == number
    assert harness.sms.sent[-1].template_name == name


@then(
    parsers.parse(
        'the history of "{name}" reads versions 3, 2 and 1, version 3 republishing version 1'
    )
)
def history(harness: Harness, editing: Editing, name: str) -> None:
    record = harness.run(editing.catalog.record(name))
    assert [v.number for v in reversed(record.versions)] == [3, 2, 1]
    assert record.versions[-1].republished == 1 and record.versions[-1].author == "bob"


@given(parsers.parse('two product owners opened "{name}" at the same time'))
def two_open(harness: Harness, editing: Editing, name: str) -> None:
    editing.results.append(harness.run(editing.catalog.record(name)))


@when("both publish their own text")
def both_publish(harness: Harness, editing: Editing) -> None:
    read = editing.results.pop()
    for who in ("ana", "bob"):
        changed = read.with_draft([_sms(f"{who}: {{{{ otpValue }}}}")])
        try:
            harness.run(
                editing.catalog.save(changed.publish(who, who, harness.clock.now()), read.revision)
            )
            editing.results.append(who)
        except TemplateConflict as refused:
            editing.results.append(refused)


@then("one of them is told that someone else changed the template first")
def one_told(editing: Editing) -> None:
    refused = [r for r in editing.results if isinstance(r, TemplateConflict)]
    assert len(refused) == 1 and "changed by someone else" in refused[0].message


@then("the other's text is version 2, and nothing else changed")
def the_other_wins(harness: Harness, editing: Editing) -> None:
    (winner,) = [r for r in editing.results if isinstance(r, str)]
    record = harness.run(editing.catalog.record("login"))
    assert [v.number for v in record.versions] == [1, 2]
    served = harness.run(editing.catalog.find("login", "en"))
    assert served.version == 2 and served.text.startswith(f"{winner}:")
