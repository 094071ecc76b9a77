"""The HTTP API: the same use cases and JSON bodies as the Kafka entrypoint."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import structlog
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.use_cases.purge_expired import PurgeExpired
from domain.errors import (
    AlreadyReceived,
    DependencyUnavailable,
    Forbidden,
    InvalidRequest,
    OtpError,
    OtpLocked,
    RateLimited,
    Unauthorized,
)
from entrypoints import dispatch
from entrypoints.http import template_api
from entrypoints.http.callers import caller, is_json
from entrypoints.http.console import Console
from entrypoints.http.openapi import document
from entrypoints.http.status import status_for, status_of_reply
from entrypoints.logging import loggable
from entrypoints.runtime import Supervisor
from entrypoints.services import Services
from entrypoints.settings import CODES, SCOPES, TEMPLATES, ApiKey
from entrypoints.version import package_version

log = structlog.get_logger(__name__)

READY_TIMEOUT = 2.0

# Runs a use case for a parsed body: (services, body, processInstanceId, caller's name, and the
# request id of an Idempotency-Key, which makes its effects idempotent as on Kafka).
Runner = Callable[
    [Services, Mapping[str, Any], object, str, str | None], Awaitable[dispatch.Outcome]
]
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Bound while a request runs (besides those of bound_contextvars), cleared after its last line.
REQUEST_FIELDS = ("outcome", "template", "channel", "trace_id", "caller")


class BodyTooLarge(InvalidRequest):
    pass


STARTING = DependencyUnavailable("The service is starting; try again shortly.")
# The caller on loopback without HTTP_API_KEYS: the operator's own machine, every scope.
LOCAL = ApiKey("local", "", frozenset(SCOPES))
NOT_CODES = Forbidden("This key may not send or validate codes (its scopes: HTTP_API_KEYS).")
NOT_TEMPLATES = Forbidden("This key may not manage templates (its scopes: HTTP_API_KEYS).")
FOLDER_TEMPLATES = InvalidRequest(
    "Templates come from a folder here (TEMPLATE_STORE=files): edit its files, or set "
    "TEMPLATE_STORE to the store to manage them over HTTP."
)
# A status callback's refusals (any other error: 400).
_CALLBACK_STATUS: dict[type[OtpError], int] = {Unauthorized: 401, AlreadyReceived: 409}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"The body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _header_instance_id(request: Request) -> object:
    raw = request.headers.get("x-process-instance-id")
    if raw is None:
        return None
    # The engine's ids are numbers; keep them numbers in the reply (plain digits only: int()
    # also reads other scripts' digits, and a 5,000-digit header is no id).
    if raw.isascii() and raw.isdigit() and len(raw) <= 30:
        return int(raw)
    return raw


async def purge_periodically(purge: PurgeExpired, every: float) -> None:
    """Runs the purge every ``every`` seconds: stores without TTL indexes need it."""
    while True:
        await asyncio.sleep(every)
        await purge.execute()


def create_app(
    open_services: Callable[[], contextlib.AbstractAsyncContextManager[Services]],
    *,
    max_body_bytes: int = 65536,
    purge_every: float = 60.0,
    supervisor: Supervisor | None = None,
    api_keys: tuple[ApiKey, ...] = (),
    body_timeout: float = 10.0,
) -> Starlette:
    api = HttpApi(
        open_services,
        max_body_bytes=max_body_bytes,
        purge_every=purge_every,
        supervisor=supervisor,
        api_keys=api_keys,
        body_timeout=body_timeout,
    )
    return Starlette(
        routes=[
            Route("/v1/otp/generate", api.generate, methods=["POST"]),
            Route("/v1/otp/validate", api.validate, methods=["POST"]),
            Route("/v1/sms/status/{provider}", api.sms_status, methods=["POST"]),
            *template_routes(api),
            *Console(lambda: api.current, api_keys, api.read_body).routes(),
            Route("/healthz", api.healthz),
            Route("/readyz", api.readyz),
            Route("/metrics", api.metrics),
            Route("/openapi.json", api.openapi),
        ],
        lifespan=api.lifespan,
        exception_handlers={404: _problem, 405: _problem},
    )


# The template management API: (path, method, operation of template_api.ROUTES).
TEMPLATE_PATHS = (
    ("/v1/templates", "GET", "list"),
    ("/v1/templates/import", "POST", "import"),
    ("/v1/templates/{name}", "GET", "show"),
    ("/v1/templates/{name}/draft", "PUT", "save_draft"),
    ("/v1/templates/{name}/check", "POST", "check"),
    ("/v1/templates/{name}/preview", "POST", "preview"),
    ("/v1/templates/{name}/publish", "POST", "publish"),
    ("/v1/templates/{name}/rollback", "POST", "rollback"),
    ("/v1/templates/{name}/versions/{number:int}", "GET", "version"),
    ("/v1/templates/{name}/diff", "GET", "diff"),
    ("/v1/templates/{name}/export", "GET", "export"),
)


def template_routes(api: HttpApi) -> list[Route]:
    return [
        Route(path, api.template_operation(operation), methods=[method])
        for path, method, operation in TEMPLATE_PATHS
    ]


async def _problem(_: Request, exc: Exception) -> Response:
    """No such path, or a method it does not take: JSON like every other answer."""
    assert isinstance(exc, HTTPException)
    said = "No such path." if exc.status_code == 404 else "This path does not take that method."
    body = {"error": said, "errorCode": None}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


class HttpApi:
    """The routes' handlers over the services the lifespan opens: a request is authorised,
    read, run through its use case (once per ``Idempotency-Key``), counted and logged."""

    def __init__(
        self,
        open_services: Callable[[], contextlib.AbstractAsyncContextManager[Services]],
        *,
        max_body_bytes: int,
        purge_every: float,
        supervisor: Supervisor | None,
        api_keys: tuple[ApiKey, ...],
        body_timeout: float,
    ) -> None:
        self._open_services = open_services
        self._max_body_bytes = max_body_bytes
        self._purge_every = purge_every
        self._supervisor = supervisor
        self._api_keys = api_keys
        self._body_timeout = body_timeout
        # The services the lifespan opened; None before it and after it.
        self._current: Services | None = None

    @property
    def current(self) -> Services | None:
        return self._current

    async def read_body(self, request: Request) -> bytes:
        return await self._body(request)

    async def _body(self, request: Request) -> bytes:
        """The request's body; TimeoutError past HTTP_BODY_TIMEOUT_SECONDS, ``BodyTooLarge``
        past HTTP_MAX_BODY_BYTES."""
        async with asyncio.timeout(self._body_timeout):
            return await _read_body(request, self._max_body_bytes)

    def _count(self, operation: str, outcome: str) -> None:
        current = self._current
        if current is not None:
            current.telemetry.requests.labels("http", operation, outcome).inc()
        structlog.contextvars.bind_contextvars(outcome=outcome)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: Starlette) -> AsyncIterator[None]:
        async with self._open_services() as opened:
            self._current = opened
            purger = asyncio.create_task(purge_periodically(opened.purge, self._purge_every))
            log.info("http.ready")
            try:
                yield
            finally:
                purger.cancel()
                self._current = None
                log.info("http.stopped")

    async def _handle(
        self,
        request: Request,
        run: Runner,
        operation: str,
        flag: str,
    ) -> Response:
        current = self._current
        if current is None:
            return JSONResponse(dispatch.invalid(None, STARTING, flag), status_code=503)
        telemetry = current.telemetry
        started = time.perf_counter()
        with (
            structlog.contextvars.bound_contextvars(
                entrypoint="http",
                operation=operation,
                process_instance_id=loggable(_header_instance_id(request)),
                request_id=loggable(request.headers.get("idempotency-key")),
            ),
            telemetry.span(
                f"otp.{operation}",
                telemetry.carrier(request.headers.items()),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": "POST", "url.path": request.scope["path"]},
            ) as span,
        ):
            structlog.contextvars.bind_contextvars(trace_id=telemetry.trace_id())
            response = await self._authorised(request, current, run, operation, flag)
            span.set_attribute("http.response.status_code", response.status_code)
            carrier: dict[str, str] = {}
            telemetry.inject(carrier)
            response.headers.update(carrier)
            elapsed = time.perf_counter() - started
            telemetry.request_seconds.labels("http", operation).observe(elapsed)
            log.info(
                "http.handled", status=response.status_code, duration_ms=round(elapsed * 1000, 2)
            )
            structlog.contextvars.unbind_contextvars(*REQUEST_FIELDS)
        return response

    async def _authorised(
        self, request: Request, current: Services, run: Runner, operation: str, flag: str
    ) -> Response:
        key = caller(request, self._api_keys) if self._api_keys else LOCAL
        if key is None:
            self._count(operation, Unauthorized.code)
            return _unauthorized(lambda refused: dispatch.invalid(None, refused, flag))
        if CODES not in key.scopes:
            self._count(operation, Forbidden.code)
            return JSONResponse(dispatch.invalid(None, NOT_CODES, flag), status_code=403)
        name = key.name
        if not is_json(request):
            self._count(operation, InvalidRequest.code)
            wrong = InvalidRequest("Only application/json bodies are accepted.")
            return JSONResponse(dispatch.invalid(None, wrong, flag), status_code=415)
        with structlog.contextvars.bound_contextvars(caller=name):
            return await self._run(request, current, run, operation, flag, name)

    async def _run(
        self,
        request: Request,
        current: Services,
        run: Runner,
        operation: str,
        flag: str,
        name: str,
    ) -> Response:
        body: dict[str, Any] | None = None
        try:
            raw = await self._body(request)
            body = dispatch.parse_object(raw)
            structlog.contextvars.bind_contextvars(
                template=loggable(body.get("templateName")), channel=loggable(body.get("channel"))
            )
        except TimeoutError:
            self._count(operation, InvalidRequest.code)
            slow = InvalidRequest(f"The body did not arrive within {self._body_timeout:g} s.")
            return JSONResponse(dispatch.invalid(None, slow, flag), status_code=408)
        except InvalidRequest as exc:
            self._count(operation, exc.code)
            status = 413 if isinstance(exc, BodyTooLarge) else 400
            return JSONResponse(dispatch.invalid(body, exc, flag), status_code=status)
        instance = _header_instance_id(request)
        key = request.headers.get("idempotency-key")
        if key is None:
            outcome = await run(current, body, instance, name, None)
            self._count(operation, outcome.error.code if outcome.error else "OK")
            current.telemetry.count_limit(outcome.error)
            headers = _headers_for(outcome.error)
            return JSONResponse(
                outcome.reply, status_code=status_for(outcome.error), headers=headers
            )
        return await self._run_once(current, run, operation, flag, name, key, raw, body, instance)

    async def _run_once(
        self,
        current: Services,
        run: Runner,
        operation: str,
        flag: str,
        name: str,
        key: str,
        raw: bytes,
        body: dict[str, Any],
        instance: object,
    ) -> Response:
        """A request with an ``Idempotency-Key``: a retry gets the first reply, sends nothing."""
        if not IDEMPOTENCY_KEY.fullmatch(key):
            wrong = InvalidRequest(
                "The Idempotency-Key must be 1 to 255 printable ASCII characters."
            )
            self._count(operation, wrong.code)
            return JSONResponse(dispatch.invalid(body, wrong, flag, instance), status_code=400)
        # The caller's name is part of the id: one caller cannot replay another's replies.
        request_id = f"http:{name}:{operation}:{key}"
        fingerprint = hashlib.sha256(raw).hexdigest()
        errors: list[OtpError | None] = []

        async def answer() -> tuple[dict[str, Any], OtpError | None]:
            outcome = await run(current, body, instance, name, request_id)
            errors.append(outcome.error)
            current.telemetry.count_limit(outcome.error)
            return outcome.reply, outcome.error

        try:
            reply, replayed = await current.replies.once(request_id, fingerprint, answer)
        except InvalidRequest as reused:
            self._count(operation, reused.code)
            return JSONResponse(dispatch.invalid(body, reused, flag, instance), status_code=422)
        except DependencyUnavailable as down:
            self._count(operation, down.code)
            return JSONResponse(dispatch.invalid(body, down, flag, instance), status_code=503)
        self._count(operation, reply["errorCode"] or "OK")
        if replayed:
            return JSONResponse(
                reply,
                status_code=status_of_reply(reply["errorCode"]),
                headers={"Idempotent-Replayed": "true"},
            )
        error = errors[0] if errors else None
        return JSONResponse(reply, status_code=status_for(error), headers=_headers_for(error))

    async def generate(self, request: Request) -> Response:
        return await self._handle(
            request,
            lambda s, b, p, name, rid: dispatch.generate(
                s.generate, b, p, rid, caller=name, events=s.events
            ),
            "generate",
            "otpSent",
        )

    async def validate(self, request: Request) -> Response:
        return await self._handle(
            request,
            lambda s, b, p, _, rid: dispatch.validate(s.validate, b, p, rid, events=s.events),
            "validate",
            "otpValid",
        )

    async def sms_status(self, request: Request) -> Response:
        """A provider's signed status callback: 204 taken, 401 unsigned, forged or too old,
        409 a replay, 400 not a callback, 404 no callback configured for that provider."""
        current = self._current
        if current is None:
            return JSONResponse(_error_only(STARTING), status_code=503)
        operation = "sms_status"
        with structlog.contextvars.bound_contextvars(entrypoint="http", operation=operation):
            callback = current.callbacks.get(request.path_params["provider"])
            try:
                raw = await self._body(request)
            except TimeoutError:
                error: OtpError | None = InvalidRequest("The body did not arrive in time.")
                status = 408
            except BodyTooLarge as exc:
                error, status = exc, 413
            else:
                if callback is None:
                    error = InvalidRequest("No status callback is configured for this provider.")
                    status = 404
                else:
                    error = callback.handle(request.url.query, request.headers, raw)
                    status = _CALLBACK_STATUS.get(type(error), 400) if error else 204
            self._count(operation, error.code if error else "OK")
            log.info("http.handled", status=status)
            structlog.contextvars.unbind_contextvars(*REQUEST_FIELDS)
        if error is None:
            return Response(status_code=204)
        return JSONResponse(_error_only(error), status_code=status)

    def template_operation(self, operation: str) -> Callable[[Request], Awaitable[Response]]:
        route = template_api.ROUTES[operation]

        async def handle(request: Request) -> Response:
            with structlog.contextvars.bound_contextvars(
                entrypoint="http", operation=f"templates.{operation}"
            ):
                response = await self._templates(request, route)
                self._count("templates", str(response.status_code))
                log.info("http.handled", status=response.status_code)
                structlog.contextvars.unbind_contextvars(*REQUEST_FIELDS)
            return response

        return handle

    async def _templates(self, request: Request, route: template_api.Route) -> Response:
        """A template operation: a key of the ``templates`` scope, a store that keeps them."""
        current = self._current
        if current is None:
            return template_api.error_response(STARTING, 503)
        key = caller(request, self._api_keys) if self._api_keys else LOCAL
        if key is None:
            return _unauthorized(_error_only)
        structlog.contextvars.bind_contextvars(caller=key.name)
        if TEMPLATES not in key.scopes:
            return template_api.error_response(NOT_TEMPLATES)
        if current.editor is None:
            return template_api.error_response(FOLDER_TEMPLATES, 404)
        body: dict[str, Any] = {}
        if route.body:
            if not is_json(request):
                wrong = InvalidRequest("Only application/json bodies are accepted.")
                return template_api.error_response(wrong, 415)
            try:
                body = dispatch.parse_object(await self._body(request))
            except TimeoutError:
                slow = InvalidRequest(f"The body did not arrive within {self._body_timeout:g} s.")
                return template_api.error_response(slow, 408)
            except InvalidRequest as exc:
                return template_api.error_response(
                    exc, 413 if isinstance(exc, BodyTooLarge) else 400
                )
        return await template_api.answer(route, current.editor, request, body, key.name)

    async def healthz(self, _: Request) -> Response:
        if self._supervisor is not None and self._supervisor.failed is not None:
            return JSONResponse(
                {"status": "failed", "reason": self._supervisor.failed}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": package_version()})

    async def readyz(self, _: Request) -> Response:
        reason = await _not_ready(self._current)
        # What was checked at start, for the operator who asks why (never a host or a key).
        checked = {"configuration": dict(self._current.configuration)} if self._current else {}
        if reason is not None:
            body = {"status": "unavailable", "reason": reason, **checked}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", **checked})

    async def metrics(self, request: Request) -> Response:
        # With callers configured, metrics need a key too: they tell who calls how often.
        if self._api_keys and caller(request, self._api_keys) is None:
            return _unauthorized(
                lambda refused: {"error": refused.message, "errorCode": refused.code}
            )
        current = self._current
        if current is None:
            return Response("starting\n", status_code=503, media_type="text/plain")
        return Response(generate_latest(current.telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, _: Request) -> Response:
        return JSONResponse(document())


def _error_only(error: OtpError) -> dict[str, Any]:
    return {"error": error.message, "errorCode": error.code}


def _unauthorized(body: Callable[[Unauthorized], dict[str, Any]]) -> Response:
    refused = Unauthorized("A valid API key is required: Authorization: Bearer <key>.")
    return JSONResponse(body(refused), status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _not_ready(current: Services | None) -> str | None:
    """Why the service cannot take work now, or None; answers within READY_TIMEOUT seconds."""
    if current is None:
        return "starting"
    if current.background is not None:
        if current.background.done():
            return "the Kafka consumer stopped"
        if current.worker is not None and (problem := current.worker.readiness_problem()):
            return problem
    try:
        await asyncio.wait_for(current.repository.ping(), READY_TIMEOUT)
        names = await asyncio.wait_for(current.templates.names(), READY_TIMEOUT)
    except TimeoutError:
        return "the OTP store or the template store did not answer in time"
    except DependencyUnavailable as exc:
        return exc.message
    if not names:
        return "the template store holds no template (otp templates import)"
    return None


def _headers_for(error: OtpError | None) -> dict[str, str]:
    if isinstance(error, RateLimited | OtpLocked) and error.retry_after_seconds is not None:
        return {"Retry-After": str(error.retry_after_seconds)}
    return {}
