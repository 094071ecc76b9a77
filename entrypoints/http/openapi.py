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
            **_template_paths(),
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
                **_TEMPLATE_SCHEMAS,
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


# ---------------------------------------------------------------- template management

_TEXTS = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "minLength": 1, "description": "Jinja text (sandboxed)."},
        "subject": {"type": ["string", "null"], "description": "MAIL: the subject."},
        "html": {"type": ["string", "null"], "description": "MAIL: an HTML part."},
    },
}
_NUMBER = {"type": "integer", "minimum": 1}
_TEMPLATE_SCHEMAS: dict[str, Any] = {
    "TemplateDraft": {
        "type": "object",
        "description": "A template's every language: one channel, one set of parameters.",
        "required": ["channel", "languages"],
        "properties": {
            "channel": {"type": "string", "minLength": 1, "examples": ["SMS", "MAIL"]},
            "forwardOnKafka": {"type": "boolean"},
            "parameters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "mandatory": {"type": "boolean"},
                        "description": {"type": "string"},
                        "type": {
                            "enum": ["text", "number", "date"],
                            "description": "What a request's value must be (default text): "
                            "a number (12, 12.50) or an ISO date (2026-12-07).",
                        },
                    },
                },
            },
            "languages": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": _TEXTS,
                "description": "Texts by language code (en, ro, pt-br).",
            },
        },
    },
    "TemplateVersion": {
        "type": "object",
        "required": ["number", "note", "author", "publishedAt", "republished", "languages"],
        "properties": {
            "number": _NUMBER,
            "note": {"type": "string"},
            "author": {"type": "string", "description": "The name of the key that published."},
            "publishedAt": {"type": "string", "format": "date-time"},
            "republished": {
                "type": ["integer", "null"],
                "description": "A rollback: the version it published again.",
            },
            "languages": {"type": "array", "items": {"type": "string"}},
            "template": {"$ref": "#/components/schemas/TemplateDraft"},
        },
    },
    "TemplateRecord": {
        "type": "object",
        "required": ["name", "revision", "current", "draftDiffers", "draft", "versions"],
        "properties": {
            "name": {"type": "string"},
            "revision": {
                "type": "integer",
                "minimum": 1,
                "description": "Send it back with the next change: a change made on an older "
                "revision gets 409 TEMPLATE_CONFLICT.",
            },
            "current": {"type": ["integer", "null"], "description": "The version served."},
            "draftDiffers": {"type": "boolean"},
            "draft": {"oneOf": [{"$ref": "#/components/schemas/TemplateDraft"}, {"type": "null"}]},
            "versions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/TemplateVersion"},
                "description": "Newest first.",
            },
        },
    },
    "TemplateList": {
        "type": "object",
        "required": ["templates"],
        "properties": {
            "templates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "channel", "languages", "revision", "current"],
                    "properties": {
                        "name": {"type": "string"},
                        "channel": {"type": ["string", "null"]},
                        "languages": {"type": "array", "items": {"type": "string"}},
                        "revision": {"type": "integer"},
                        "current": {"type": ["integer", "null"]},
                        "draftDiffers": {"type": "boolean"},
                        "publishedAt": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
            }
        },
    },
    "DraftChange": {
        "allOf": [
            {"$ref": "#/components/schemas/TemplateDraft"},
            {
                "type": "object",
                "required": ["revision"],
                "properties": {
                    "revision": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "The revision read; 0 for a new template.",
                    }
                },
            },
        ]
    },
    "Publish": {
        "type": "object",
        "required": ["revision", "note"],
        "properties": {
            "revision": {"type": "integer", "minimum": 1},
            "note": {"type": "string", "minLength": 1, "maxLength": 500},
        },
    },
    "Rollback": {
        "type": "object",
        "required": ["revision", "version", "note"],
        "properties": {
            "revision": {"type": "integer", "minimum": 1},
            "version": _NUMBER,
            "note": {"type": "string", "minLength": 1, "maxLength": 500},
        },
    },
    "DraftRequest": {
        "type": "object",
        "properties": {
            "draft": {
                "oneOf": [{"$ref": "#/components/schemas/TemplateDraft"}, {"type": "null"}],
                "description": "Unsaved edits; without it, the saved draft.",
            },
            "language": {"type": "string", "description": "Preview: the language shown."},
            "data": {"type": "object", "description": "Preview: the request's `data`."},
        },
    },
    "TemplateCheck": {
        "type": "object",
        "required": ["ok", "undeclared", "unused", "problems"],
        "properties": {
            "ok": {"type": "boolean"},
            "undeclared": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Names the texts use that are not declared parameters.",
            },
            "unused": {"type": "array", "items": {"type": "string"}},
            "problems": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TemplatePreview": {
        "type": "object",
        "required": ["subject", "text", "html", "channel", "refusal"],
        "properties": {
            "subject": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "html": {"type": ["string", "null"]},
            "channel": {
                "type": "object",
                "description": "SMS: encoding (GSM-7, UCS-2), parts, maxParts, characters.",
            },
            "refusal": {
                "type": ["string", "null"],
                "description": "Why the channel would refuse it (an SMS too long).",
            },
        },
    },
    "TemplateDiff": {
        "type": "object",
        "required": ["from", "to", "lines"],
        "properties": {
            "from": {"type": "integer"},
            "to": {"type": ["integer", "string"]},
            "lines": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TemplateExport": {
        "allOf": [
            {"$ref": "#/components/schemas/TemplateDraft"},
            {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "version": _NUMBER},
            },
        ]
    },
    "TemplateImport": {
        "type": "object",
        "description": "One exported template, or several as `templates`; `note` for the "
        "versions it publishes.",
        "properties": {
            "templates": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/components/schemas/TemplateExport"},
            },
            "note": {"type": "string"},
        },
    },
    "TemplateImported": {
        "type": "object",
        "required": ["imported"],
        "properties": {
            "imported": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "version", "current"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": ["integer", "null"]},
                        "current": {"type": ["integer", "null"]},
                    },
                },
            }
        },
    },
}


def _template_operation(
    method: str, summary: str, reply: str, request: str | None = None, **extra: Any
) -> dict[str, Any]:
    refused = {
        "400": "Malformed body or query (not JSON, wrong types).",
        "401": "No valid API key.",
        "403": "The key has no `templates` scope (FORBIDDEN).",
        "404": "No such template path, or templates come from a folder (TEMPLATE_STORE=files).",
        "408": "The body did not arrive within HTTP_BODY_TIMEOUT_SECONDS.",
        "409": "Changed by someone else since it was read (TEMPLATE_CONFLICT).",
        "413": "Body larger than HTTP_MAX_BODY_BYTES.",
        "415": "The body is not application/json.",
        "422": "No such template or version (TEMPLATE_NOT_FOUND), a draft that could not "
        "be served (TEMPLATE_INVALID), an unknown channel, a missing parameter.",
        "503": "Starting, or the store is down.",
    }
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["templates"],
        "security": [{"apiKey": []}, {}],
        "responses": {
            "200": {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{reply}"}}
                },
            },
            **{status: {"description": said, **_PROBLEM} for status, said in refused.items()},
        },
        **extra,
    }
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{request}"}}
            },
        }
    return {method: operation}


_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
}


_VERSION = {"name": "number", "in": "path", "required": True, "schema": _NUMBER}
_DIFF_QUERY = [
    {"name": "from", "in": "query", "required": True, "schema": _NUMBER},
    {
        "name": "to",
        "in": "query",
        "schema": {"type": ["integer", "string"]},
        "description": "A version number, or `draft` (the default).",
    },
]
# (path under /v1/templates, method, summary, reply, request body, parameters past the name)
_TEMPLATE_OPERATIONS: tuple[tuple[str, str, str, str, str | None, list[Any]], ...] = (
    ("", "get", "List the templates", "TemplateList", None, []),
    ("/import", "post", "Import exported templates (publishes what changed)",
     "TemplateImported", "TemplateImport", []),
    ("/{name}", "get", "A template: its draft and history", "TemplateRecord", None, []),
    ("/{name}/draft", "put", "Save the draft (every language)", "TemplateRecord",
     "DraftChange", []),
    ("/{name}/check", "post", "Check a draft for undeclared or unused parameters",
     "TemplateCheck", "DraftRequest", []),
    ("/{name}/preview", "post", "Render a draft with sample data", "TemplatePreview",
     "DraftRequest", []),
    ("/{name}/publish", "post", "Publish the draft as a new version", "TemplateRecord",
     "Publish", []),
    ("/{name}/rollback", "post", "Publish an earlier version again", "TemplateRecord",
     "Rollback", []),
    ("/{name}/versions/{number}", "get", "One published version", "TemplateVersion", None,
     [_VERSION]),
    ("/{name}/diff", "get", "A unified diff of two versions", "TemplateDiff", None, _DIFF_QUERY),
    ("/{name}/export", "get", "The current version, to import", "TemplateExport", None, []),
)  # fmt: skip


def _template_paths() -> dict[str, Any]:
    paths = {}
    for path, method, summary, reply, request, parameters in _TEMPLATE_OPERATIONS:
        named = [_NAME] if "{name}" in path else []
        paths[f"/v1/templates{path}"] = {
            **({"parameters": [*named, *parameters]} if named else {}),
            **_template_operation(method, summary, reply, request),
        }
    return paths
