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
                "templateName": {"type": "string"},
                "channel": _CHANNEL,
                "recipient": {"type": "string", "description": "E.164 phone or e-mail address."},
                "clientId": {"type": "string"},
                "language": {"type": "string"},
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
                "clientId": {"type": "string"},
                "channel": _CHANNEL,
                "otp": {"type": "string"},
                "processInstanceId": _ID,
                "context": _CONTEXT,
                "recipient": {
                    "type": "string",
                    "description": "When given, must be where the code was sent.",
                },
            },
        },
        "GenerateReply": _reply("otpSent", "True once the notification was handed over."),
        "ValidateReply": _reply("otpValid", "True for the first right try within the lifetime."),
    }
