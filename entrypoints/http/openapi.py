"""The OpenAPI 3.1 document served at /openapi.json."""

from __future__ import annotations

from typing import Any

from entrypoints.schemas import body_schemas
from entrypoints.version import package_version

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Whole seconds until a new try can succeed.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the kept reply to an earlier request with the same "
        "Idempotency-Key (nothing was sent again).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_CHALLENGE = {
    "WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}},
}
_PROBLEM = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _responses(reply: str) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{reply}"}}}}
    return {
        "200": {
            "description": "The use case ran; the body tells the outcome.",
            "headers": _REPLAYED,
            **body,
        },
        "400": {"description": "Malformed body (not a JSON object, wrong types).", **body},
        "401": {
            "description": "No valid API key (Authorization: Bearer <key>).",
            "headers": _CHALLENGE,
            **body,
        },
        "408": {"description": "The body did not arrive within HTTP_BODY_TIMEOUT_SECONDS.", **body},
        "413": {"description": "Body larger than HTTP_MAX_BODY_BYTES.", **body},
        "415": {"description": "The body is not application/json.", **body},
        "422": {
            "description": "Unknown template or channel, invalid recipient, missing parameter.",
            "headers": _REPLAYED,
            **body,
        },
        "429": {
            "description": "Rate-limited, or the account is locked (OTP_LOCKED); see Retry-After.",
            "headers": {**_RETRY_AFTER, **_REPLAYED},
            **body,
        },
        "500": {"description": "An unexpected failure (INTERNAL_ERROR); try again.", **body},
        "503": {"description": "A dependency is down.", **body},
    }


def _post(summary: str, request: str, reply: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            # A key is needed when HTTP_API_KEYS is set (always beyond loopback); on loopback
            # without keys, none.
            "security": [{"apiKey": []}, {}],
            "parameters": [
                {
                    "name": "X-Process-Instance-Id",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Overrides processInstanceId; digits stay a number.",
                },
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$",
                    },
                    "description": "A retry with the same key gets the first reply and sends "
                    "nothing again (docs/contract.md says for how long).",
                },
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
    json_body = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "get": {
            "summary": summary,
            "responses": {
                "200": {"description": "OK", **json_body},
                "503": {"description": "Not ready, or failed; `reason` says why.", **json_body},
            },
        }
    }


def _status_callback() -> dict[str, Any]:
    """``POST /v1/sms/status/{provider}``: what an SMS provider posts about a message."""
    refused = {
        "400": "Not a status callback's body (signed, but not a callback).",
        "401": "Unsigned, forged, for another account, or too old (UNAUTHORIZED).",
        "404": "No status callback is configured for this provider.",
        "408": "The body did not arrive within HTTP_BODY_TIMEOUT_SECONDS.",
        "409": "Received already: a replay (INVALID_REQUEST).",
        "413": "Body larger than HTTP_MAX_BODY_BYTES.",
        "503": "Starting.",
    }
    signature = {"type": "string", "minLength": 1}
    return {
        "post": {
            "summary": "A provider's signed status callback: what became of a message",
            "description": "Authenticated by the provider's signature, never by an API key: "
            "`twilio` by `X-Twilio-Signature` (TWILIO_STATUS_CALLBACK_URL), `webhook` by "
            "`X-Otp-Signature` (SMS_WEBHOOK_CALLBACK_SECRET). Taken once.",
            "security": [{}],
            "parameters": [
                {
                    "name": "provider",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["twilio", "webhook"]},
                },
                {"name": "X-Twilio-Signature", "in": "header", "schema": signature},
                {
                    "name": "X-Otp-Signature",
                    "in": "header",
                    "schema": signature,
                    "description": '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.',
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/TwilioStatus"}
                    },
                    "application/json": {"schema": {"$ref": "#/components/schemas/WebhookStatus"}},
                },
            },
            "responses": {
                "204": {"description": "Taken: a final status becomes a lifecycle event."},
                **{status: {"description": said, **_PROBLEM} for status, said in refused.items()},
            },
        }
    }


_CALLBACK_SCHEMAS = {
    "TwilioStatus": {
        "type": "object",
        "description": "The form a Twilio-compatible API posts to a message's StatusCallback.",
        "required": ["AccountSid", "MessageSid", "MessageStatus"],
        "properties": {
            "AccountSid": {"type": "string"},
            "MessageSid": {"type": "string", "minLength": 1},
            "MessageStatus": {
                "type": "string",
                "minLength": 1,
                "description": "`delivered`; `undelivered` or `failed` (with ErrorCode); "
                "others (`queued`, `sent`, ...) are taken and change nothing.",
            },
            "ErrorCode": {"type": "string"},
        },
    },
    "WebhookStatus": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": ["string", "integer"], "description": "The id the webhook answered."},
            "status": {"type": "string", "description": "As for TwilioStatus.MessageStatus."},
            "error": {"type": ["string", "null"], "description": "The provider's error."},
        },
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "OTP service", "version": package_version()},
        "paths": {
            "/v1/otp/generate": _post(
                "Generate a code and send it", "GenerateRequest", "GenerateReply"
            ),
            "/v1/otp/validate": _post("Validate a code", "ValidateRequest", "ValidateReply"),
            "/v1/sms/status/{provider}": _status_callback(),
            "/healthz": _probe("The process is alive"),
            "/readyz": _probe("The service can serve: store and templates reachable"),
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    # With HTTP_API_KEYS set, metrics need a key too (they tell who calls).
                    "security": [{"apiKey": []}, {}],
                    "responses": {
                        "200": {"description": "OK", "content": {"text/plain": {}}},
                        "401": {
                            "description": "No valid API key.",
                            "headers": _CHALLENGE,
                            **_PROBLEM,
                        },
                        "503": {"description": "Starting.", "content": {"text/plain": {}}},
                    },
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
                **body_schemas(),
                **_CALLBACK_SCHEMAS,
                "Problem": {
                    "type": "object",
                    "description": "An answer outside the use cases: no such path, a method "
                    "the path does not take, no key for /metrics, a refused status callback.",
                    "required": ["error", "errorCode"],
                    "properties": {
                        "error": {"type": "string"},
                        "errorCode": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
