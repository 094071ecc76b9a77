"""The template console (docs/templates.md): server-rendered pages for product owners, over the
same editing use cases as the management API, signed in with a key of the ``templates`` scope.

Safety: every page is rendered with autoescaping and sent with a strict Content-Security-Policy
(no inline script, nothing from elsewhere, no framing); a mail's HTML preview is shown in an
``<iframe sandbox>`` with no script. The session is an HMAC-signed, HttpOnly, SameSite=Strict
cookie; every form and every script request carries a token derived from it, and a request
whose Origin is another site is refused. Nothing the console serves comes from outside it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from application.use_cases.template_versions import TemplateEditor, diff
from domain.channel import Channel
from domain.errors import InvalidRequest, InvalidTemplate, OtpError, TemplateNotFound
from domain.template import PARAMETER_TYPES, NotificationTemplate, TemplateParameter
from domain.template_versions import NAME, TemplateRecord, check_draft
from entrypoints.http import template_api
from entrypoints.http.callers import caller
from entrypoints.services import Services
from entrypoints.settings import SCOPES, TEMPLATES, ApiKey

log = structlog.get_logger(__name__)

PAGES = Path(__file__).resolve().parent / "console_pages"
COOKIE = "otp_console"
SESSION_SECONDS = 8 * 3600
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Same-origin: a form posted from the console carries its Origin (no-referrer would make
    # it "null"), and nothing leaves for other sites.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
# A mail's HTML part, shown in the editor's sandboxed frame: its own inline styles apply (mail
# HTML is styled inline), nothing else may load or run, and only the console may frame it.
HTML_PART_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "SAMEORIGIN",
}
# The living documentation `make docs` writes (scripts/living_docs.py): the features in the
# product owner's words with their last results. It carries its own inline script and style,
# so it is served sandboxed: an origin of its own, which cannot reach the console's session.
FEATURES_PAGE = Path("var") / "reports" / "features.html"
FEATURES_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox allow-scripts",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
SAMPLE = {"firstName": "Ana", "bank": "Banca"}

_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PAGES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


# ---------------------------------------------------------------- sessions and tokens


def _sign(secret: bytes, text: str) -> str:
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def session_cookie(secret: bytes, name: str, now: float) -> str:
    payload = f"{name}.{int(now) + SESSION_SECONDS}"
    return f"{payload}.{_sign(secret, payload)}"


def session_user(secret: bytes, cookie: str | None, now: float) -> str | None:
    """The signed-in name of a session cookie that is genuine and not expired."""
    if not cookie or cookie.count(".") < 2:
        return None
    payload, _, signature = cookie.rpartition(".")
    name, _, expiry = payload.rpartition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    if not expiry.isdigit() or int(expiry) < now:
        return None
    return name


def form_token(secret: bytes, cookie: str) -> str:
    """What each form and script request of a session carries: a cross-site page cannot know it."""
    return _sign(secret, f"form.{cookie}")[:40]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


# ---------------------------------------------------------------- forms and pages


PARAMETER_LINE = re.compile(r"(?P<name>[^\s*():]+)\s*(?P<star>\*)?\s*(?:\((?P<type>\w+)\))?")


def parse_parameters(raw: str) -> tuple[TemplateParameter, ...]:
    """One parameter a line: ``name``, ``name*`` (mandatory), then ``(number)`` or ``(date)``
    when it is not text, then ``: description``."""
    found = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        head, _, description = line.partition(":")
        matched = PARAMETER_LINE.fullmatch(head.strip())
        if matched is None:
            raise InvalidTemplate(f"A parameter line names no parameter: {line[:40]!r}.")
        kind = matched["type"] or "text"
        if kind not in PARAMETER_TYPES:
            raise InvalidTemplate(f"A parameter's type is one of {', '.join(PARAMETER_TYPES)}.")
        found.append(
            TemplateParameter(matched["name"], bool(matched["star"]), description.strip(), kind)
        )
    return tuple(found)


def parameters_text(parameters: tuple[TemplateParameter, ...]) -> str:
    return "\n".join(
        p.name
        + ("*" if p.mandatory else "")
        + (f" ({p.type})" if p.type != "text" else "")
        + (f": {p.description}" if p.description else "")
        for p in parameters
    )


def draft_from_form(name: str, form: Mapping[str, str]) -> list[NotificationTemplate]:
    channel = Channel.named(form.get("channel", ""))
    parameters = parse_parameters(form.get("parameters", ""))
    forward = form.get("forward") == "on"
    templates = []
    for n in range(int(form.get("languages", "0") or 0) + 1):
        language = form.get(f"language-{n}", "").strip().lower()
        text = form.get(f"text-{n}", "")
        if not language and not text.strip():
            continue  # the empty "add a language" block
        templates.append(
            NotificationTemplate(
                name=name,
                channel=channel,
                language=language,
                text=text.replace("\r\n", "\n"),
                subject=form.get(f"subject-{n}") or None,
                html=(form.get(f"html-{n}") or "").replace("\r\n", "\n") or None,
                parameters=parameters,
                forward_on_kafka=forward,
            )
        )
    return list(check_draft(name, templates))


class Console:
    """The console's routes over the services the HTTP API opened."""

    def __init__(
        self,
        services: Callable[[], Services | None],
        api_keys: tuple[ApiKey, ...],
        read_body: Callable[[Request], Awaitable[bytes]],
    ) -> None:
        self._services = services
        self._keys = api_keys
        self._read_body = read_body

    def routes(self) -> list[Route]:
        return [
            Route("/console", self._guarded(self._index), methods=["GET"]),
            Route("/console/login", self.login_page, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console/static/{file}", self.static, methods=["GET"]),
            Route("/console/new", self.new_template, methods=["GET"]),
            Route("/console/features", self._guarded(self._features), methods=["GET"]),
            Route("/console/templates/{name}", self._guarded(self._edit_page), methods=["GET"]),
            Route(
                "/console/templates/{name}/draft", self._guarded(self._save_draft), methods=["POST"]
            ),
            Route(
                "/console/templates/{name}/publish", self._guarded(self._publish), methods=["POST"]
            ),
            Route(
                "/console/templates/{name}/rollback",
                self._guarded(self._rollback),
                methods=["POST"],
            ),
            Route("/console/templates/{name}/preview", self.live_preview, methods=["POST"]),
            Route(
                "/console/templates/{name}/html/{language}",
                self._guarded(self._html_part),
                methods=["GET"],
            ),
        ]

    # ------------------------------------------------------------ plumbing

    def _page(self, page: str, status: int = 200, **values: Any) -> Response:
        html = _pages.get_template(page).render(**values)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def _session(self, request: Request) -> tuple[Services, str, str] | None:
        """The services, the signed-in name and the form token; None: sign in first."""
        services = self._services()
        if services is None or not services.console_secret:
            return None
        cookie = request.cookies.get(COOKIE)
        user = session_user(services.console_secret, cookie, time.time())
        if user is None or cookie is None:
            return None
        return services, user, form_token(services.console_secret, cookie)

    async def _form(self, request: Request, token: str) -> dict[str, str]:
        """A posted form of this session: same origin, its token; else InvalidRequest."""
        if not _same_origin(request):
            raise CrossSite("This form was sent from another site.")
        raw = await self._read_body(request)
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest("The form is not UTF-8 form data.") from None
        form = {key: values[-1] for key, values in fields.items()}
        if not hmac.compare_digest(form.get("csrf", ""), token):
            raise CrossSite("This form is stale or was not sent from the console; reload it.")
        return form

    def _editor(self, services: Services) -> TemplateEditor:
        if services.editor is None:
            raise FolderTemplates(
                "Templates come from a folder here (TEMPLATE_STORE=files): the console edits "
                "templates kept in the store (TEMPLATE_STORE=sqlite or mongo)."
            )
        return services.editor

    def _guarded(
        self, handler: Callable[[Request, Services, str, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            session = self._session(request)
            if session is None:
                return RedirectResponse("/console/login", status_code=303, headers=HEADERS)
            services, user, token = session
            try:
                return await handler(request, services, user, token)
            except CrossSite as refused:
                return self._page("error.html", 403, message=refused.message, user=user)
            except FolderTemplates as refused:
                return self._page("error.html", 404, message=refused.message, user=user)
            except TimeoutError:
                return self._page("error.html", 408, message="The form did not arrive in time.",
                                  user=user)  # fmt: skip
            except OtpError as refused:
                status = template_api.error_response(refused).status_code
                return self._page("error.html", status, message=refused.message, user=user)

        return run

    # ------------------------------------------------------------ signing in

    async def login_page(self, request: Request) -> Response:
        return self._page("login.html", open_access=not self._keys, message=None)

    async def login(self, request: Request) -> Response:
        services = self._services()
        if services is None:
            return self._page("login.html", 503, open_access=False, message="Starting; retry.")
        if not _same_origin(request):
            return self._page("login.html", 403, open_access=False, message="Another site.")
        raw = await self._read_body(request)
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        key = self._signed_in(form.get("key", ""), request)
        if key is None or TEMPLATES not in key.scopes:
            log.info("console.sign_in_refused")
            said = "That key cannot sign in: it must be a key of the templates scope."
            return self._page("login.html", 401, open_access=not self._keys, message=said)
        cookie = session_cookie(services.console_secret, key.name, time.time())
        log.info("console.signed_in", caller=key.name)
        response = RedirectResponse("/console", status_code=303, headers=HEADERS)
        response.set_cookie(
            COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/console",
        )  # fmt: skip
        return response

    def _signed_in(self, key: str, request: Request) -> ApiKey | None:
        if not self._keys:
            return ApiKey("local", "", frozenset(SCOPES))  # loopback, no keys: the operator
        scope = {"type": "http", "headers": [(b"authorization", f"Bearer {key}".encode())]}
        return caller(Request(scope), self._keys)

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/console/login", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/console")
        return response

    async def static(self, request: Request) -> Response:
        name = request.path_params["file"]
        if name not in STATIC:
            return Response("No such file.\n", status_code=404, media_type="text/plain")
        body = (PAGES / name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    # ------------------------------------------------------------ the pages

    async def _index(self, request: Request, services: Services, user: str, token: str) -> Response:
        editor = self._editor(services)
        records = await editor.list.execute()
        return self._page("index.html", user=user, csrf=token, records=records)

    async def _features(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        """The living documentation of the features, when `make docs` has written it here."""
        try:
            page = FEATURES_PAGE.read_bytes()
        except OSError:
            return self._page("features.html", 404, user=user, path=str(FEATURES_PAGE))
        return HTMLResponse(page, headers=FEATURES_HEADERS)

    async def new_template(self, request: Request) -> Response:
        name = request.query_params.get("name", "")
        channel = request.query_params.get("channel", "SMS")
        target = f"/console/templates/{quote(name)}?channel={quote(channel)}"
        return RedirectResponse(target if name else "/console", status_code=303, headers=HEADERS)

    async def _edit_page(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        editor = self._editor(services)
        name = request.path_params["name"]
        if not NAME.fullmatch(name):
            raise InvalidTemplate("That is not a template name.")
        record = await editor.show.find(name) or TemplateRecord(name=name)
        channel = request.query_params.get("channel", "SMS")
        draft = list(record.draft)
        previews, check = [], None
        if draft:
            check = editor.check.execute(draft)
            previews = [(t.language, _preview(editor, t)) for t in draft]
        lines: list[str] = []
        older = request.query_params.get("diff")
        if older and older.isdigit() and record.version(int(older)):
            lines = diff(record, int(older))
        return self._page(
            "edit.html",
            user=user,
            csrf=token,
            record=record,
            channel=draft[0].channel.value if draft else channel.upper()[:20],
            draft=draft,
            parameters=parameters_text(draft[0].parameters) if draft else "",
            forward=bool(draft and draft[0].forward_on_kafka),
            previews=previews,
            check=check,
            diff_from=older if lines else None,
            diff=lines,
            quoted=quote(name),
        )

    # ------------------------------------------------------------ the changes

    async def _save_draft(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        form = await self._form(request, token)
        name = request.path_params["name"]
        templates = draft_from_form(name, form)
        revision = _number(form.get("revision", ""))
        await self._editor(services).save_draft.execute(name, templates, revision, user)
        return _back(name)

    async def _publish(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        form = await self._form(request, token)
        name = request.path_params["name"]
        revision = _number(form.get("revision", ""))
        await self._editor(services).publish.execute(name, form.get("note", ""), revision, user)
        return _back(name)

    async def _rollback(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        form = await self._form(request, token)
        name = request.path_params["name"]
        version, revision = _number(form.get("version", "")), _number(form.get("revision", ""))
        note = form.get("note", "")
        await self._editor(services).rollback.execute(name, version, note, revision, user)
        return _back(name)

    async def _html_part(
        self, request: Request, services: Services, user: str, token: str
    ) -> Response:
        """The saved draft's HTML part in one language, rendered with the sample data."""
        record = await self._editor(services).show.execute(request.path_params["name"])
        language = request.path_params["language"]
        template = next((t for t in record.draft if t.language == language), None)
        shown = _preview(self._editor(services), template) if template else {}
        if not shown.get("html"):
            return Response("No HTML part.\n", status_code=404, media_type="text/plain")
        return HTMLResponse(shown["html"], headers=HTML_PART_HEADERS)

    async def live_preview(self, request: Request) -> Response:
        """The editor's live preview: the form as it is now, as JSON (the token in a header)."""
        session = self._session(request)
        if session is None:
            return JSONResponse({"error": "Sign in again.", "errorCode": "UNAUTHORIZED"}, 401)
        services, _, token = session
        if not _same_origin(request) or not hmac.compare_digest(
            request.headers.get("x-console-token", ""), token
        ):
            return JSONResponse({"error": "Not from the console.", "errorCode": "FORBIDDEN"}, 403)
        try:
            raw = await self._read_body(request)
            form = json.loads(raw.decode("utf-8"))
            if not isinstance(form, dict) or not all(isinstance(v, str) for v in form.values()):
                raise InvalidRequest("The preview takes the form's fields.")
            editor = self._editor(services)
            templates = draft_from_form(request.path_params["name"], form)
            found = editor.check.execute(templates)
            shown = [{"language": t.language, **_preview(editor, t)} for t in templates]
        except (ValueError, TimeoutError):
            refused = InvalidRequest("The preview takes the form's fields as JSON.")
            return template_api.error_response(refused)
        except OtpError as refused:
            return template_api.error_response(refused)
        return JSONResponse(
            {"previews": shown, "undeclared": list(found.undeclared), "unused": list(found.unused)}
        )


def _preview(editor: TemplateEditor, template: NotificationTemplate) -> dict[str, Any]:
    try:
        return template_api.preview_json(editor.preview.execute(template, SAMPLE))
    except OtpError as refused:
        return {
            "text": "",
            "subject": None,
            "html": None,
            "channel": {},
            "refusal": refused.message,
        }


def _number(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise InvalidRequest("The form lost a number; reload the page.")
    return int(raw)


def _back(name: str) -> Response:
    return RedirectResponse(f"/console/templates/{quote(name)}", status_code=303, headers=HEADERS)


class CrossSite(InvalidRequest):
    pass


class FolderTemplates(TemplateNotFound):
    pass
