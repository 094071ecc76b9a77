"""The OpenAPI 3.1 document served at /openapi.json."""

from __future__ import annotations

from typing import Any

ERROR_CODES = [
    "INVALID_REQUEST",
    "UNSUPPORTED_CHANNEL",
    "INVALID_RECIPIENT",
    "TEMPLATE_NOT_FOUND",
    "TEMPLATE_PARAMETER_MISSING",
    "RATE_LIMITED",
    "DELIVERY_FAILED",
    "OTP_NOT_FOUND",
    "OTP_EXPIRED",
    "OTP_MISMATCH",
    "OTP_ATTEMPTS_EXCEEDED",
    "OTP_LOCKED",
    "UNAUTHORIZED",
    "INTERNAL_ERROR",
]

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
        "properties": {
            "processInstanceId": _ID,
            "clientId": {"type": ["string", "null"]},
            "channel": {"type": ["string", "null"]},
            flag: {"type": "boolean", "description": description},
            "error": {"type": ["string", "null"], "description": "A sentence a person can act on."},
            "errorCode": {"type": ["string", "null"], "enum": [*ERROR_CODES, None]},
        },
    }


def _responses(reply: str) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{reply}"}}}}
    return {
        "200": {"description": "The use case ran; the body tells the outcome.", **body},
        "400": {"description": "Malformed body (not a JSON object, wrong types).", **body},
        "401": {"description": "No valid API key (Authorization: Bearer <key>).", **body},
        "408": {"description": "The body did not arrive within HTTP_BODY_TIMEOUT_SECONDS.", **body},
        "413": {"description": "Body larger than HTTP_MAX_BODY_BYTES.", **body},
        "415": {"description": "The body is not application/json.", **body},
        "422": {
            "description": "Unknown template or channel, invalid recipient, missing parameter.",
            **body,
        },
        "429": {
            "description": "Rate-limited, or the account is locked (OTP_LOCKED); see Retry-After.",
            **body,
        },
        "503": {"description": "A dependency is down.", **body},
    }


def _post(summary: str, request: str, reply: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"apiKey": []}],
            "parameters": [
                {
                    "name": "X-Process-Instance-Id",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Overrides processInstanceId; digits stay a number.",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}
                },
            },
            "responses": _responses(reply),
        }
    }


def _probe(summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": "OK"}, "503": {"description": "Not ready"}},
        }
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "OTP service", "version": "1.0.0"},
        "paths": {
            "/v1/otp/generate": _post(
                "Generate a code and send it", "GenerateRequest", "GenerateReply"
            ),
            "/v1/otp/validate": _post("Validate a code", "ValidateRequest", "ValidateReply"),
            "/healthz": _probe("The process is alive"),
            "/readyz": _probe("The service can serve: store and templates reachable"),
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "OK"}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A caller's key, when HTTP_API_KEYS is set.",
                }
            },
            "schemas": {
                "GenerateRequest": {
                    "type": "object",
                    "required": ["templateName", "channel", "recipient", "clientId"],
                    "additionalProperties": True,
                    "properties": {
                        "templateName": {"type": "string"},
                        "channel": _CHANNEL,
                        "recipient": {
                            "type": "string",
                            "description": "E.164 phone or e-mail address.",
                        },
                        "clientId": {"type": "string"},
                        "language": {"type": "string"},
                        "processInstanceId": _ID,
                        "data": {"type": "object"},
                        "contentParams": {"type": "object"},
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
                "ValidateReply": _reply(
                    "otpValid", "True for the first right try within the lifetime."
                ),
            },
        },
    }
