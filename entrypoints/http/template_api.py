"""The template management API (docs/templates.md): drafts, checks, previews, publishing,
rollback, history, diffs, export and import, for keys of the ``templates`` scope.

Every change names the ``revision`` it was made on: a change on an older one gets 409
``TEMPLATE_CONFLICT`` and changes nothing. Bodies are JSON only, so a web page of another
origin cannot send one without the browser asking first (CORS is never granted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from application.use_cases.template_versions import (
    DraftPreview,
    TemplateEditor,
    diff,
)
from domain.channel import Channel
from domain.errors import InvalidRequest, InvalidTemplate, OtpError, TemplateNotFound
from domain.template import PARAMETER_TYPES, NotificationTemplate, TemplateParameter
from domain.template_versions import PublishedVersion, TemplateRecord, check_draft
from entrypoints.http.status import status_for

# ---------------------------------------------------------------- JSON forms


def draft_json(templates: tuple[NotificationTemplate, ...]) -> dict[str, Any] | None:
    """A template's every language, as the API and the console edit it."""
    if not templates:
        return None
    first = templates[0]
    return {
        "channel": first.channel.value,
        "forwardOnKafka": first.forward_on_kafka,
        "parameters": [
            {"name": p.name, "mandatory": p.mandatory, "description": p.description, "type": p.type}
            for p in first.parameters
        ],
        "languages": {
            t.language: {"subject": t.subject, "text": t.text, "html": t.html} for t in templates
        },
    }


def version_json(version: PublishedVersion, with_texts: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "number": version.number,
        "note": version.note,
        "author": version.author,
        "publishedAt": version.published_at.isoformat().replace("+00:00", "Z"),
        "republished": version.republished,
        "languages": sorted(t.language for t in version.templates),
    }
    if with_texts:
        shown["template"] = draft_json(version.templates)
    return shown


def record_json(record: TemplateRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "revision": record.revision,
        "current": record.current,
        "draftDiffers": record.draft_differs,
        "draft": draft_json(record.draft),
        "versions": [version_json(v) for v in reversed(record.versions)],
    }


def summary_json(record: TemplateRecord) -> dict[str, Any]:
    draft = record.draft[0] if record.draft else None
    published = record.published
    return {
        "name": record.name,
        "channel": draft.channel.value if draft else None,
        "languages": sorted(t.language for t in record.draft),
        "revision": record.revision,
        "current": record.current,
        "draftDiffers": record.draft_differs,
        "publishedAt": version_json(published)["publishedAt"] if published else None,
    }


def preview_json(preview: DraftPreview) -> dict[str, Any]:
    message = preview.message
    return {
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "channel": dict(preview.carried),
        "refusal": preview.refusal,
    }


def _field(body: Mapping[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    value = body.get(name, default)
    if value is ...:
        raise InvalidRequest(f"'{name}' is required.")
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidRequest(f"'{name}' must be a {kind.__name__}.")
    return value


def parse_draft(name: str, body: Mapping[str, Any]) -> list[NotificationTemplate]:
    """The templates of a draft body (the form of ``draft_json``); InvalidRequest naming the
    field that is wrong."""
    channel = Channel.named(_field(body, "channel", str))
    forward = _field(body, "forwardOnKafka", bool, False)
    parameters = []
    for raw in _field(body, "parameters", list, []):
        if not isinstance(raw, dict):
            raise InvalidRequest("Each of 'parameters' must be an object.")
        parameters.append(
            TemplateParameter(
                name=_field(raw, "name", str),
                mandatory=_field(raw, "mandatory", bool, False),
                description=_field(raw, "description", str, ""),
                type=_parameter_type(_field(raw, "type", str, "text")),
            )
        )
    languages = _field(body, "languages", dict)
    templates = []
    for language, texts in languages.items():
        if not isinstance(texts, dict):
            raise InvalidRequest(f"'languages.{language[:20]}' must be an object.")
        templates.append(
            NotificationTemplate(
                name=name,
                channel=channel,
                language=language,
                text=_field(texts, "text", str),
                subject=_field(texts, "subject", str, None),
                html=_field(texts, "html", str, None),
                parameters=tuple(parameters),
                forward_on_kafka=forward,
            )
        )
    return templates


def _parameter_type(kind: str) -> str:
    if kind not in PARAMETER_TYPES:
        raise InvalidTemplate(f"A parameter's type is one of {', '.join(PARAMETER_TYPES)}.")
    return kind


def _revision(body: Mapping[str, Any]) -> int:
    revision: int = _field(body, "revision", int)
    if revision < 0:
        raise InvalidRequest("'revision' must be 0 (a new template) or the revision read.")
    return revision


# ---------------------------------------------------------------- the routes


Handler = Callable[[TemplateEditor, Request, dict[str, Any], str], Awaitable[Any]]


@attrs.frozen
class Route:
    """One operation: whether it reads a body, and what it answers (200 JSON)."""

    run: Handler
    body: bool = True


async def _list(editor: TemplateEditor, _: Request, __: dict[str, Any], ___: str) -> Any:
    return {"templates": [summary_json(r) for r in await editor.list.execute()]}


async def _show(editor: TemplateEditor, request: Request, _: dict[str, Any], __: str) -> Any:
    return record_json(await editor.show.execute(request.path_params["name"]))


async def _save_draft(
    editor: TemplateEditor, request: Request, body: dict[str, Any], author: str
) -> Any:
    name = request.path_params["name"]
    templates = parse_draft(name, body)
    return record_json(await editor.save_draft.execute(name, templates, _revision(body), author))


async def _draft_of(
    editor: TemplateEditor, name: str, body: dict[str, Any]
) -> list[NotificationTemplate]:
    """The draft in the body (unsaved edits, held to what a save would take), else the
    saved one."""
    if "draft" in body and body["draft"] is not None:
        if not isinstance(body["draft"], dict):
            raise InvalidRequest("'draft' must be an object.")
        return list(check_draft(name, parse_draft(name, body["draft"])))
    record = await editor.show.execute(name)
    if not record.draft:
        raise TemplateNotFound(f"Template {name!r} has no draft.")
    return list(record.draft)


async def _check(editor: TemplateEditor, request: Request, body: dict[str, Any], _: str) -> Any:
    found = editor.check.execute(await _draft_of(editor, request.path_params["name"], body))
    return {
        "ok": found.ok,
        "undeclared": list(found.undeclared),
        "unused": list(found.unused),
        "problems": list(found.problems),
    }


async def _preview(editor: TemplateEditor, request: Request, body: dict[str, Any], _: str) -> Any:
    templates = await _draft_of(editor, request.path_params["name"], body)
    language = _field(body, "language", str, templates[0].language)
    data = _field(body, "data", dict, {})
    chosen = next((t for t in templates if t.language == language), None)
    if chosen is None:
        raise TemplateNotFound(f"The draft has no {language[:20]!r} text.")
    return preview_json(editor.preview.execute(chosen, data))


async def _publish(
    editor: TemplateEditor, request: Request, body: dict[str, Any], author: str
) -> Any:
    note = _field(body, "note", str)
    name = request.path_params["name"]
    return record_json(await editor.publish.execute(name, note, _revision(body), author))


async def _rollback(
    editor: TemplateEditor, request: Request, body: dict[str, Any], author: str
) -> Any:
    name, note = request.path_params["name"], _field(body, "note", str)
    version = _field(body, "version", int)
    return record_json(await editor.rollback.execute(name, version, note, _revision(body), author))


async def _version(editor: TemplateEditor, request: Request, _: dict[str, Any], __: str) -> Any:
    record = await editor.show.execute(request.path_params["name"])
    number = request.path_params["number"]
    version = record.version(number)
    if version is None:
        raise TemplateNotFound(f"Template {record.name!r} has no version {number}.")
    return version_json(version, with_texts=True)


def _query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "draft":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise InvalidRequest(f"'{name}' must be a version number.")
    return int(raw)


async def _diff(editor: TemplateEditor, request: Request, _: dict[str, Any], __: str) -> Any:
    record = await editor.show.execute(request.path_params["name"])
    older = _query_int(request, "from")
    if older is None:
        raise InvalidRequest("'from' must name a version (from=1&to=2, or to=draft).")
    newer = _query_int(request, "to")
    return {"from": older, "to": newer or "draft", "lines": diff(record, older, newer)}


async def _export(editor: TemplateEditor, request: Request, _: dict[str, Any], __: str) -> Any:
    record = await editor.show.execute(request.path_params["name"])
    published = record.published
    if published is None:
        raise TemplateNotFound(f"Template {record.name!r} has no published version.")
    return {
        "name": record.name,
        "version": published.number,
        **(draft_json(published.templates) or {}),
    }


async def _import(editor: TemplateEditor, _: Request, body: dict[str, Any], author: str) -> Any:
    """One exported document, or {"templates": [...]}: each saved as the draft and published
    with ``note`` when it differs from the current version."""
    documents = body.get("templates", [body]) if "templates" in body else [body]
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("'templates' must be a list of exported templates.")
    note = _field(body, "note", str, "imported")
    done = []
    for document in documents:
        if not isinstance(document, dict):
            raise InvalidRequest("Each of 'templates' must be an object.")
        name = _field(document, "name", str)
        templates = parse_draft(name, document)
        record = await editor.show.find(name)
        revision = record.revision if record else 0
        record = await editor.save_draft.execute(name, templates, revision, author)
        version = None
        if record.draft_differs:
            record = await editor.publish.execute(name, note, record.revision, author)
            version = record.current
        done.append({"name": name, "version": version, "current": record.current})
    return {"imported": done}


ROUTES: dict[str, Route] = {
    "list": Route(_list, body=False),
    "show": Route(_show, body=False),
    "save_draft": Route(_save_draft),
    "check": Route(_check),
    "preview": Route(_preview),
    "publish": Route(_publish),
    "rollback": Route(_rollback),
    "version": Route(_version, body=False),
    "diff": Route(_diff, body=False),
    "export": Route(_export, body=False),
    "import": Route(_import),
}


async def answer(
    route: Route, editor: TemplateEditor, request: Request, body: dict[str, Any], author: str
) -> Response:
    try:
        return JSONResponse(await route.run(editor, request, body, author))
    except OtpError as refused:
        return error_response(refused)


def error_response(error: OtpError, status: int | None = None) -> Response:
    body = {"error": error.message, "errorCode": error.code}
    return JSONResponse(body, status_code=status or status_for(error))
