"""What every entrypoint does with a request body: parse, run the use case, build the reply."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from application.events import Happened, LifecycleEvents
from application.outcomes import Outcome as UseCaseOutcome
from application.outcomes import refused
from application.use_cases.generate_otp import GenerateOtp, GenerateOtpCommand
from application.use_cases.validate_otp import ValidateOtp, ValidateOtpCommand
from domain.errors import InternalError, InvalidRequest, OtpError

log = structlog.get_logger(__name__)

# Keys of a generate request that are not template parameters.
GENERATE_FIELDS = frozenset(
    {"templateName", "channel", "recipient", "clientId", "language", "processInstanceId", "context"}
)
PARAMETER_SOURCES = ("contentParams", "data")


@attrs.frozen
class Outcome:
    reply: dict[str, Any]
    error: OtpError | None


def _no_constant(name: str) -> object:
    raise InvalidRequest(f"The body holds {name}, which JSON does not allow.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidRequest(f"The number {text[:40]} is too large.")
    return value


# Far beyond any request the contract describes, far below what recursion or memory would mind.
MAX_DEPTH = 16
MAX_INT_DIGITS = 30


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidRequest(f"The body holds an integer of more than {MAX_INT_DIGITS} digits.")
    return int(text)


def _check_tree(value: object) -> None:
    """Refuses nesting deeper than ``MAX_DEPTH`` and text with unpaired surrogates (which no
    UTF-8 store or log can hold), without recursion."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidRequest(f"The body is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(item, str):
            _check_unicode(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_unicode(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("The body holds a \\u escape of an unpaired surrogate.") from None


def parse_object(raw: bytes) -> dict[str, Any]:
    """Decodes a UTF-8 JSON object or raises ``InvalidRequest`` saying what is wrong.

    Whatever the bytes, the only exception is ``InvalidRequest``: a value nested too deep, an
    integer too long to convert, NaN or an infinite number are refused like any bad JSON.
    """
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_constant=_no_constant,
            parse_float=_finite,
            parse_int=_bounded_int,
        )
    except UnicodeDecodeError:
        raise InvalidRequest("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"The body is not valid JSON ({exc.msg}, at {exc.pos}).") from None
    except RecursionError:
        raise InvalidRequest("The body is nested too deeply.") from None
    except ValueError:
        # int() refuses integers of more than sys.get_int_max_str_digits() digits.
        raise InvalidRequest("The body holds a number too long to read.") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"The body must be a JSON object, not {type(value).__name__}.")
    _check_tree(value)
    return value


def _text(body: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"{key!r} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequest(f"{key!r} must be a string.")
    return str(value)


def _required(body: Mapping[str, Any], key: str) -> str:
    value = _text(body, key)
    assert value is not None
    return value


def _context(body: Mapping[str, Any]) -> Mapping[str, object] | None:
    context = body.get("context")
    if context is not None and not isinstance(context, dict):
        raise InvalidRequest("'context' must be a JSON object.")
    return context


def generate_command(
    body: Mapping[str, Any], request_id: str | None = None, caller: str = "local"
) -> GenerateOtpCommand:
    parameters: dict[str, Any] = {
        k: v for k, v in body.items() if k not in GENERATE_FIELDS and k not in PARAMETER_SOURCES
    }
    for source in PARAMETER_SOURCES:
        extra = body.get(source)
        if extra is None:
            continue
        if not isinstance(extra, dict):
            raise InvalidRequest(f"{source!r} must be a JSON object.")
        parameters.update(extra)
    return GenerateOtpCommand(
        template_name=_required(body, "templateName"),
        channel=_required(body, "channel"),
        recipient=_required(body, "recipient"),
        client_id=_required(body, "clientId"),
        language=_text(body, "language", required=False),
        parameters=parameters,
        request_id=request_id,
        context=_context(body),
        caller=caller,
    )


def validate_command(body: Mapping[str, Any], request_id: str | None = None) -> ValidateOtpCommand:
    return ValidateOtpCommand(
        client_id=_required(body, "clientId"),
        channel=_required(body, "channel"),
        otp=_required(body, "otp"),
        request_id=request_id,
        context=_context(body),
        recipient=_text(body, "recipient", required=False),
    )


def _reply(
    body: Mapping[str, Any], process_instance_id: object, error: OtpError | None
) -> dict[str, Any]:
    channel = body.get("channel")
    if process_instance_id is None:
        process_instance_id = body.get("processInstanceId")
    return {
        # Echoed as the reply's schema allows (an id: a whole number or text; the others text),
        # else null: a wrong-typed field is refused, never carried back.
        "processInstanceId": process_instance_id if _is_id(process_instance_id) else None,
        "clientId": _text_or_none(body.get("clientId")),
        "channel": channel.upper() if isinstance(channel, str) else None,
        "error": error.message if error else None,
        "errorCode": error.code if error else None,
    }


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _text_or_none(value: object) -> str | None:
    """A text field as the command read it (a whole number counts as its digits), else None."""
    return str(value) if _is_id(value) else None


async def _guarded(action: Any) -> UseCaseOutcome:
    """Runs a use case for its outcome. A request that cannot become a command is refused
    here; anything unexpected is INTERNAL_ERROR, never a crash."""
    try:
        outcome: UseCaseOutcome = await action
    except OtpError as exc:
        return refused(exc)
    except Exception:  # noqa: BLE001 - one bad request must never stop the service
        log.exception("request.failed")
        return refused(InternalError("The service failed to handle the request; try again later."))
    return outcome


async def _run_generate(
    use_case: GenerateOtp, body: Mapping[str, Any], request_id: str | None, caller: str
) -> UseCaseOutcome:
    return await use_case.execute(generate_command(body, request_id, caller))


async def _run_validate(
    use_case: ValidateOtp, body: Mapping[str, Any], request_id: str | None
) -> UseCaseOutcome:
    return await use_case.execute(validate_command(body, request_id))


async def generate(
    use_case: GenerateOtp,
    body: Mapping[str, Any],
    process_instance_id: object = None,
    request_id: str | None = None,
    caller: str = "local",
    events: LifecycleEvents | None = None,
) -> Outcome:
    outcome = await _guarded(_run_generate(use_case, body, request_id, caller))
    error = outcome.error
    reply = _reply(body, process_instance_id, error)
    reply["otpSent"] = error is None
    await _record(events, "generate", outcome, body, reply, request_id)
    return Outcome(reply=_ordered(reply, "otpSent"), error=error)


async def validate(
    use_case: ValidateOtp,
    body: Mapping[str, Any],
    process_instance_id: object = None,
    request_id: str | None = None,
    events: LifecycleEvents | None = None,
) -> Outcome:
    outcome = await _guarded(_run_validate(use_case, body, request_id))
    error = outcome.error
    reply = _reply(body, process_instance_id, error)
    reply["otpValid"] = error is None
    await _record(events, "validate", outcome, body, reply, request_id)
    return Outcome(reply=_ordered(reply, "otpValid"), error=error)


async def _record(
    events: LifecycleEvents | None,
    operation: str,
    outcome: UseCaseOutcome,
    body: Mapping[str, Any],
    reply: Mapping[str, Any],
    request_id: str | None,
) -> None:
    if events is None:
        return
    client, template = body.get("clientId"), body.get("templateName")
    await events.record(
        Happened(
            operation=operation,
            outcome=outcome,
            client_id=str(client)
            if isinstance(client, str | int) and not isinstance(client, bool)
            else None,
            channel=reply["channel"] if isinstance(reply["channel"], str) else None,
            template=template if isinstance(template, str) else None,
            process_instance_id=reply["processInstanceId"],
            request_id=request_id,
        )
    )


def _ordered(reply: dict[str, Any], flag: str) -> dict[str, Any]:
    order = ("processInstanceId", "clientId", "channel", flag, "error", "errorCode")
    return {key: reply[key] for key in order}


def invalid(
    body: Mapping[str, Any] | None,
    error: OtpError,
    flag: str,
    process_instance_id: object = None,
) -> dict[str, Any]:
    """The reply to a body that could not even be parsed as a JSON object."""
    reply = _reply(body or {}, process_instance_id, error)
    reply[flag] = False
    return _ordered(reply, flag)
