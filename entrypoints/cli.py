"""The ``otp`` command: serve, generate, validate and look after templates."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

import click
import structlog
import uvicorn
from dependency_injector.wiring import Provide, Provider, inject

from application.ports import TemplateStore, TemplateWriter
from application.use_cases.generate_otp import GenerateOtp
from application.use_cases.template_versions import ImportedTemplate, ImportTemplates
from application.use_cases.templates import (
    CheckTemplates,
    CopyTemplates,
    ListTemplates,
    Preview,
    PreviewTemplate,
    ShowTemplate,
    TemplateCheck,
    TemplateSummary,
)
from application.use_cases.unlock_account import UnlockAccount
from application.use_cases.validate_otp import ValidateOtp
from domain.errors import OtpError
from domain.template import NotificationTemplate
from entrypoints import dispatch
from entrypoints.http.app import create_app
from entrypoints.http.server import with_header_timeout
from entrypoints.logging import configure_logging
from entrypoints.runtime import Supervisor, running_container, serving
from entrypoints.settings import (
    HttpSettings,
    Settings,
    SettingsError,
    configuration,
    documentation,
    kafka_example,
    names,
)
from entrypoints.workers import reuse_port_socket, run_workers

log = structlog.get_logger(__name__)

T = TypeVar("T")


# sysexits.h's EX_CONFIG: what supervisors and shells read as "the configuration is wrong".
EX_CONFIG = 78


class ConfigurationRefused(click.ClickException):
    """Settings the service will not start with: every problem, one per line, on standard
    error, without click's usage banner (nothing is wrong with the command line)."""

    exit_code = EX_CONFIG

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [line for problem in problems for line in problem.splitlines() if line]
        super().__init__("\n".join(self.problems))

    def show(self, file: IO[Any] | None = None) -> None:
        count = len(self.problems)
        click.echo(f"otp: configuration refused, {count} problem{'s' * (count != 1)}:", err=True)
        for problem in self.problems:
            click.echo(f"  - {problem}", err=True)


def _settings() -> Settings:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        raise ConfigurationRefused(exc.problems) from None
    configure_logging(log_format=settings.telemetry.log_format, level=settings.telemetry.log_level)
    return settings


def _warn_of_a_local_key(settings: Settings) -> None:
    """Where a code is issued (serve, generate): codes hashed with the embedded default's key
    file cannot be checked by another machine, and the file is not a managed secret."""
    if not settings.keys.keys:
        log.warning(
            "hash_key.generated_locally",
            detail="OTP_HASH_KEYS is not set; using a random key kept in a local file. "
            "Set OTP_HASH_KEYS in any shared or production deployment.",
            key_file=str(settings.keys.local_key_file),
        )


CONTEXT_HELP = "The transaction the code approves, as a JSON object (validate must repeat it)."
INSTANCE_HELP = "The process instance the reply is for (echoed; a whole number stays one)."
LANGUAGE_HELP = "Template language (default: OTP_DEFAULT_LANGUAGE)."


def _data(raw: str | None, option: str = "--data") -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        return dispatch.parse_object(raw.encode())
    except OtpError as exc:
        raise click.BadParameter(exc.message, param_hint=option) from None


def _correlation(context: str | None, process_instance_id: str | None) -> dict[str, Any]:
    """The optional --context and --process-instance-id, as the engine's body carries them."""
    given: dict[str, Any] = {}
    if context is not None:
        given["context"] = _data(context, "--context")
    if process_instance_id is not None:
        digits = process_instance_id.isascii() and process_instance_id.isdigit()
        digits = digits and len(process_instance_id) <= 18  # a JSON number the engine reads
        given["processInstanceId"] = int(process_instance_id) if digits else process_instance_id
    return given


def _print(reply: dict[str, Any]) -> None:
    click.echo(json.dumps(reply, ensure_ascii=False))


FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="JSON for scripts, or text for a person.",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="otp-service")
@click.pass_context
def main(ctx: click.Context) -> None:
    """One-time passwords: generate, deliver and validate (see README.md)."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _http_options(command: Callable[..., None]) -> Callable[..., None]:
    """An option per HTTP setting but the callers' keys (a secret has no place on a command
    line, which other users of the machine can read): ``--max-body-bytes`` sets
    HTTP_MAX_BODY_BYTES for this process and its workers, checked like the variable."""
    for name, field in reversed(HttpSettings.model_fields.items()):
        if name == "api_keys":
            continue
        variable = names(field)[0]
        doc = " ".join((field.description or "").split())
        command = click.option(
            "--" + name.replace("_", "-"),
            variable,
            default=None,
            metavar={int: "INTEGER", float: "NUMBER"}.get(type(field.default), "TEXT"),
            help=f"Sets {variable}: {doc}.",
        )(command)
    return command


@main.command()
@_http_options
@click.option("--reuse-port", is_flag=True, hidden=True, help="Set by --workers for each worker.")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse to start when a reply topic is outside ENGINE_TOPIC_PATTERN (else a warning).",
)
def serve(reuse_port: bool, strict: bool, **http_options: str | None) -> None:
    """Serve the HTTP API (and the Kafka consumer) until SIGTERM or Ctrl-C."""
    # An option is its variable: set before the settings are read, inherited by the workers.
    os.environ.update({name: value for name, value in http_options.items() if value is not None})
    settings = _settings()
    http = settings.http
    problems = []
    unread = _unread_reply_topics(settings)
    if strict and unread:
        problems.append(unread)
    elif unread:
        log.warning("kafka.reply_topic_unread", detail=unread)
    if not reuse_port:  # the parent of --workers has checked them for every worker
        problems += _template_problems(settings)
    if problems:
        raise ConfigurationRefused(problems)
    if not reuse_port:  # once, not once per worker
        _warn_of_a_local_key(settings)
    if http.workers > 1 and not reuse_port:
        sys.exit(run_workers(http.workers))
    supervisor = Supervisor()
    app = create_app(
        lambda: serving(settings, supervisor),
        max_body_bytes=http.max_body_bytes,
        purge_every=settings.store.purge_interval_seconds,
        supervisor=supervisor,
        api_keys=http.api_keys,
        body_timeout=http.body_timeout_seconds,
    )
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        http=with_header_timeout(http.header_timeout_seconds),
        limit_concurrency=http.max_connections,
        timeout_keep_alive=5,
    )
    log.info("http.serving", url=f"http://{config.host}:{config.port}")
    server = GracefulServer(config)
    # A consumer that ended on its own stops the whole process, non-zero, for a restart.
    supervisor.on_failure.append(lambda: setattr(server, "should_exit", True))
    sockets = [reuse_port_socket(config.host, config.port)] if reuse_port else None
    server.run(sockets=sockets)
    if supervisor.failed is not None:
        raise SystemExit(f"otp serve: {supervisor.failed}")


def _unread_reply_topics(settings: Settings) -> str | None:
    """The engine only listens on topics matching its pattern: a reply sent elsewhere is lost."""
    unread = settings.kafka.unread_reply_topics() if settings.kafka is not None else ()
    if not unread or settings.kafka is None:
        return None
    return (
        f"reply topics {', '.join(unread)} do not match ENGINE_TOPIC_PATTERN "
        f"({settings.kafka.engine_topic_pattern}): the engine would never read their replies"
    )


def _template_problems(settings: Settings) -> list[str]:
    """Every template of a folder read and rendered before the service starts. A store
    (MongoDB) may be down at start: serve leaves it to readiness, which warns."""
    if settings.store.templates != "files":
        return []
    try:
        found = _with_container(_check_templates, settings)
    except click.ClickException as exc:
        return [f"the template store could not be read: {exc.message}"]
    return list(found.problems)


class GracefulServer(uvicorn.Server):
    """On SIGTERM or Ctrl-C: stop accepting, drain requests, close stores, exit 0.

    uvicorn re-raises the caught signal after its graceful shutdown, which makes a clean stop
    look like a crash (exit -15) to supervisors; a stop we asked for is a success.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


@main.command()
@click.option("--template", "-t", "template_name", required=True, help="Template name.")
@click.option("--channel", "-c", required=True, help="SMS or MAIL.")
@click.option("--recipient", "-r", required=True, help="E.164 phone or e-mail address.")
@click.option("--client-id", required=True, help="The business id the code is bound to.")
@click.option("--language", "-l", default=None, help="Template language.")
@click.option("--data", "-d", default=None, help="Template parameters as a JSON object.")
@click.option("--context", default=None, help=CONTEXT_HELP)
@click.option("--process-instance-id", default=None, help=INSTANCE_HELP)
def generate(
    template_name: str,
    channel: str,
    recipient: str,
    client_id: str,
    language: str | None,
    data: str | None,
    context: str | None,
    process_instance_id: str | None,
) -> None:
    """Generate a code, send it and print the reply JSON (exit 1 when not sent)."""
    settings = _settings()
    _warn_of_a_local_key(settings)
    body: dict[str, Any] = {
        "templateName": template_name,
        "channel": channel,
        "recipient": recipient,
        "clientId": client_id,
        "data": _data(data),
        **_correlation(context, process_instance_id),
    }
    if language:
        body["language"] = language

    outcome: dispatch.Outcome = _with_container(lambda: _generate(body), settings)
    _print(outcome.reply)
    sys.exit(0 if outcome.error is None else 1)


@main.command()
@click.option("--client-id", required=True, help="The business id the code was bound to.")
@click.option("--channel", "-c", required=True, help="SMS or MAIL.")
@click.option("--otp", required=True, help="The code the person typed.")
@click.option("--recipient", "-r", default=None, help="Where the code was sent (checked).")
@click.option("--context", default=None, help=CONTEXT_HELP)
@click.option("--process-instance-id", default=None, help=INSTANCE_HELP)
def validate(
    client_id: str,
    channel: str,
    otp: str,
    recipient: str | None,
    context: str | None,
    process_instance_id: str | None,
) -> None:
    """Validate a code and print the reply JSON (exit 1 when not valid)."""
    settings = _settings()
    body = {
        "clientId": client_id,
        "channel": channel,
        "otp": otp,
        **_correlation(context, process_instance_id),
    }
    if recipient:
        body["recipient"] = recipient

    outcome: dispatch.Outcome = _with_container(lambda: _validate(body), settings)
    _print(outcome.reply)
    sys.exit(0 if outcome.error is None else 1)


@main.command()
@click.option("--client-id", required=True, help="The business id whose codes are locked.")
@click.option("--channel", "-c", required=True, help="SMS or MAIL.")
@FORMAT
def unlock(client_id: str, channel: str, output: str) -> None:
    """Unlock an account locked by too many wrong codes (exit 1 when nothing was locked)."""

    unlocked = _with_container(lambda: _unlock(client_id, channel))
    if output == "json":
        _print({"clientId": client_id, "channel": channel.upper(), "unlocked": unlocked})
    elif unlocked:
        click.echo("unlocked: the count of wrong codes starts again")
    else:
        click.echo("nothing to unlock: no wrong codes are counted for this client and channel")
    sys.exit(0 if unlocked else 1)


@main.group()
def templates() -> None:
    """List, show and render notification templates."""


def _with_container(action: Callable[[], Awaitable[T]], settings: Settings | None = None) -> T:
    """Runs ``action`` with this module's ``Provide`` markers wired to a container of
    ``settings``; the resources it opened are closed after."""
    settings = settings or _settings()

    async def run() -> T:
        async with running_container(settings) as container:
            container.wire(modules=[sys.modules[__name__]])
            try:
                return await action()
            finally:
                container.unwire()

    try:
        return asyncio.run(run())
    except OtpError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@templates.command("list")
@FORMAT
def list_templates(output: str) -> None:
    """Names, channels and languages of every template."""

    summaries = _with_container(_list_templates)
    if output == "json":
        listed = [
            {
                "name": summary.name,
                "channel": summary.channel.value if summary.channel else None,
                "languages": list(summary.languages),
            }
            for summary in summaries
        ]
        click.echo(json.dumps(listed, ensure_ascii=False))
        return
    for summary in summaries:
        channel = summary.channel.value if summary.channel else "?"
        click.echo(f"{summary.name}\t{channel}\t{','.join(summary.languages)}")


@templates.command()
@click.argument("name")
@click.option("--language", "-l", default=None, help=LANGUAGE_HELP)
def show(name: str, language: str | None) -> None:
    """Print a template's parameters and texts."""

    template = _with_container(lambda: _show_template(name, language))
    described = {
        "name": template.name,
        "channel": template.channel.value,
        "language": template.language,
        "parameters": {
            p.name: {"mandatory": p.mandatory, "description": p.description}
            for p in template.parameters
        },
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
    }
    click.echo(json.dumps(described, ensure_ascii=False, indent=2))


@templates.command("import")
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Template folder to load (default: TEMPLATES_DIR).",
)
def import_templates(source: Path | None) -> None:
    """Publish a template folder into the store (TEMPLATE_STORE=sqlite or mongo): each
    template that differs from its current version becomes a new version."""

    settings = _settings()
    if not settings.store_keeps_templates or settings.store.templates == "files":
        raise click.UsageError(
            "templates import publishes into the store that serves templates, and "
            "TEMPLATE_STORE=files serves the folder itself: set TEMPLATE_STORE to the store "
            "(sqlite, or mongo with MONGODB_URI)"
        )
    if source is not None:
        settings = settings.model_copy(
            update={"store": settings.store.model_copy(update={"templates_dir": source})}
        )
    loaded = _with_container(_import_templates, settings)
    for template in loaded:
        languages = ", ".join(template.languages)
        if template.version is None:
            click.echo(f"unchanged {template.name} ({languages}): the current version")
        else:
            click.echo(f"imported {template.name} ({languages}) as version {template.version}")
    published = sum(1 for template in loaded if template.version is not None)
    click.echo(f"{published} of {len(loaded)} template(s) published")


@templates.command("export")
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write (one sub-folder per template, as TEMPLATES_DIR holds them).",
)
def export_templates(target: Path) -> None:
    """Write every template of the configured store (TEMPLATE_STORE) into a folder."""

    exported = _with_container(lambda: _export_templates(target))
    for template in exported:
        click.echo(f"exported {template.name} ({template.language}, {template.channel.value})")
    click.echo(f"{len(exported)} template(s) exported to {target}")


@templates.command()
@click.argument("name")
@click.option("--language", "-l", default=None, help=LANGUAGE_HELP)
@click.option("--data", "-d", default=None, help="Parameters as a JSON object.")
def render(name: str, language: str | None, data: str | None) -> None:
    """Show what a person would receive, with a sample code in place of the real one."""
    parameters = _data(data)

    preview = _with_container(lambda: _preview(name, language, parameters))
    template, message = preview.template, preview.message
    parts = [f"Channel: {template.channel.value}   Language: {template.language}"]
    if message.subject is not None:
        parts.append(f"Subject: {message.subject}")
    parts += ["", message.text.strip()]
    if message.html is not None:
        parts += ["", "--- HTML ---", message.html.strip()]
    click.echo("\n".join(parts))


@main.command()
@click.argument("kind", type=click.Choice(["openapi", "asyncapi"]))
def contract(kind: str) -> None:
    """Print the OpenAPI (HTTP) or AsyncAPI (Kafka) document as JSON (docs/*.json)."""
    from entrypoints.http import openapi
    from entrypoints.kafka import asyncapi

    document = openapi.document() if kind == "openapi" else asyncapi.document(kafka_example())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@main.group()
def config() -> None:
    """The service's settings (environment variables)."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def config_check(as_json: bool) -> None:
    """Check every setting and every template without starting the service: exit 0 when the
    service would start, 78 when it would refuse, with every problem."""
    problems: list[str] = []
    warnings: list[str] = []
    checked: dict[str, Any] = {}
    try:
        settings = _settings()
    except ConfigurationRefused as exc:
        problems = exc.problems
    else:
        checked = dict(configuration(settings))
        warnings = [w for w in (_unread_reply_topics(settings),) if w]
        try:
            found = _with_container(_check_templates, settings)
        except click.ClickException as exc:
            warnings.append(f"the template store could not be read: {exc.message}")
        else:
            problems = list(found.problems)
            checked["templatesFound"] = found.templates
            checked["templateChannels"] = [channel.value for channel in found.channels]
    if as_json:
        _print({"ok": not problems, "checked": checked, "problems": problems, "warnings": warnings})
    else:
        for name, value in checked.items():
            shown = ",".join(value) if isinstance(value, list) else value
            click.echo(f"{name}: {shown}")
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    if problems and not as_json:
        raise ConfigurationRefused(problems)
    if not as_json:
        click.echo("configuration: fine, the service would start")
    sys.exit(EX_CONFIG if problems else 0)


@config.command("docs")
def config_docs() -> None:
    """Print docs/configuration.md, generated from the settings' declarations."""
    click.echo(documentation(), nl=False)


# ---------------------------------------------------------------- what the commands run, injected


@inject
async def _check_templates(
    use_case: CheckTemplates = Provide["use_cases.check_templates"],
) -> TemplateCheck:
    return await use_case.execute()


@inject
async def _generate(
    body: dict[str, Any], use_case: GenerateOtp = Provide["use_cases.generate_otp"]
) -> dispatch.Outcome:
    return await dispatch.generate(use_case, body)


@inject
async def _validate(
    body: dict[str, Any], use_case: ValidateOtp = Provide["use_cases.validate_otp"]
) -> dispatch.Outcome:
    return await dispatch.validate(use_case, body)


@inject
async def _unlock(
    client_id: str, channel: str, use_case: UnlockAccount = Provide["use_cases.unlock_account"]
) -> bool:
    return await use_case.execute(client_id, channel)


@inject
async def _list_templates(
    use_case: ListTemplates = Provide["use_cases.list_templates"],
) -> list[TemplateSummary]:
    return await use_case.execute()


@inject
async def _show_template(
    name: str, language: str | None, use_case: ShowTemplate = Provide["use_cases.show_template"]
) -> NotificationTemplate:
    return await use_case.execute(name, language)


@inject
async def _import_templates(
    use_case: ImportTemplates = Provide["use_cases.import_templates"],
) -> list[ImportedTemplate]:
    return await use_case.execute()


@inject
async def _export_templates(
    target: Path,
    folder: Callable[[Path], TemplateWriter] = Provider["adapters.folder_templates"],
    source: TemplateStore = Provide["adapters.templates"],
) -> list[NotificationTemplate]:
    return await CopyTemplates(source=source, target=folder(target)).execute()


@inject
async def _preview(
    name: str,
    language: str | None,
    parameters: dict[str, Any],
    use_case: PreviewTemplate = Provide["use_cases.preview_template"],
) -> Preview:
    return await use_case.execute(name, language, parameters)
