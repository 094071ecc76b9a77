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


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "OTP service", "version": package_version()},
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
                "Problem": {
                    "type": "object",
                    "description": "An answer outside the use cases: no such path, a method "
                    "the path does not take, no key for /metrics.",
                    "required": ["error", "errorCode"],
                    "properties": {
                        "error": {"type": "string"},
                        "errorCode": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
