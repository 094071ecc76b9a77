"""The OpenAPI 3.1 document served at /openapi.json."""

from __future__ import annotations

from typing import Any

from entrypoints.schemas import body_schemas
from entrypoints.version import package_version


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
            "schemas": body_schemas(),
        },
    }
