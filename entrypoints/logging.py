"""structlog set-up: JSON lines for machines, or a readable console; one call at start-up.

The service's own lines and the standard library's (uvicorn, librdkafka through
confluent-kafka) go through the same processors, so every line has the same shape and carries
the request's correlation (bound with structlog's context variables in each entrypoint).
"""

from __future__ import annotations

import logging
import sys

import structlog

# The longest correlation value a log line takes from a request (ids the caller chose).
MAX_CORRELATION_CHARS = 128


def configure_logging(*, log_format: str = "console", level: str = "INFO") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Plain tracebacks only: pretty formatters print local variables, which may hold a code.
        structlog.processors.format_exc_info if log_format == "json" else _identity,
        # JSON escapes control characters itself; the console would print them raw.
        _identity if log_format == "json" else escape_control_characters,
    ]
    numeric = logging.getLevelNamesMapping().get(level, logging.INFO)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def loggable(value: object) -> object:
    """A correlation value for a log line: a number or short text, never a structure."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value[:MAX_CORRELATION_CHARS]
    return type(value).__name__


def _identity(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    return event


# Written as they come: the traceback of an exception (its lines are the service's own).
_KEPT = frozenset({"exception", "stack"})


def escape_control_characters(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Every text a caller may have chosen (a template name, an id, a header) is written with
    its control characters escaped, as JSON writes them: a terminal escape sequence or a line
    break in a request cannot retitle the operator's terminal, colour it, or forge a line."""
    for key, value in event.items():
        if isinstance(value, str) and key not in _KEPT and not value.isprintable():
            event[key] = "".join(c if c.isprintable() else _escaped(c) for c in value)
    return event


def _escaped(character: str) -> str:
    return repr(character)[1:-1] if character != "'" else character
