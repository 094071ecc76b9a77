"""The JSON Schemas of the request and reply bodies: one source for the OpenAPI document (HTTP)
and the AsyncAPI document (Kafka), which carry the same bodies."""

from __future__ import annotations

from typing import Any

from domain import errors

ERROR_CODES = sorted(
    {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.OtpError) and cls is not errors.OtpError
    }
)

_ID = {
    "description": "Echoed from the request, same JSON type.",
    "type": ["integer", "string", "null"],
}
_CHANNEL = {"type": "string", "enum": ["SMS", "MAIL"], "description": "Case-insensitive."}
# Text the service refuses (INVALID_REQUEST, 400) when empty, or when it holds a control or
# invisible character (Unicode category C), which no JSON Schema pattern can name portably.
_TEXT = {
    "type": "string",
    "minLength": 1,
    "description": "Not empty; no control or invisible characters.",
}
_CONTEXT = {
    "type": "object",
    "maxProperties": 16,
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
    "description": "The transaction the code approves (e.g. amount, currency, payee), bound "
    "into the code: validate must present the same context. Send amounts as strings.",
}


def _reply(flag: str, description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["processInstanceId", "clientId", "channel", flag, "error", "errorCode"],
        "additionalProperties": False,
        "properties": {
            "processInstanceId": _ID,
            "clientId": {"type": ["string", "null"]},
            "channel": {"type": ["string", "null"]},
            flag: {"type": "boolean", "description": description},
            "error": {"type": ["string", "null"], "description": "A sentence a person can act on."},
            "errorCode": {"type": ["string", "null"], "enum": [*ERROR_CODES, None]},
        },
    }


def body_schemas() -> dict[str, dict[str, Any]]:
    """The four bodies, by name."""
    return {
        "GenerateRequest": {
            "type": "object",
            "required": ["templateName", "channel", "recipient", "clientId"],
            "additionalProperties": True,
            "description": "Other top-level keys are template parameters too.",
            "properties": {
                "templateName": _TEXT,
                "channel": _CHANNEL,
                "recipient": {**_TEXT, "description": "E.164 phone or e-mail address."},
                "clientId": _TEXT,
                "language": _TEXT,
                "processInstanceId": _ID,
                "data": {"type": "object", "description": "Template parameters."},
                "contentParams": {"type": "object", "description": "Template parameters."},
                "context": _CONTEXT,
            },
        },
        "ValidateRequest": {
            "type": "object",
            "required": ["clientId", "channel", "otp"],
            "properties": {
                "clientId": _TEXT,
                "channel": _CHANNEL,
                "otp": _TEXT,
                "processInstanceId": _ID,
                "context": _CONTEXT,
                "recipient": {
                    **_TEXT,
                    "description": "When given, must be where the code was sent.",
                },
            },
        },
        "GenerateReply": _reply("otpSent", "True once the notification was handed over."),
        "ValidateReply": _reply("otpValid", "True for the first right try within the lifetime."),
    }
