"""The AsyncAPI 3 document of the Kafka topics: what the engine sends, what comes back, what
goes to the dead-letter topic (and the lifecycle events, when configured).

Topic names are the defaults; each is a setting (docs/configuration.md). Bodies share their
schemas with the OpenAPI document (entrypoints/schemas.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from application.events import EventType
from entrypoints.schemas import body_schemas
from entrypoints.version import package_version

if TYPE_CHECKING:
    from adapters.kafka.settings import KafkaSettings


_ENGINE_HEADERS = {
    "type": "object",
    "description": "The engine's headers. Every header of a request comes back on its reply "
    "unchanged, in order, with unknown ones kept as bytes, except those listed in "
    "KAFKA_HEADERS_NOT_ECHOED (by default Spring's __TypeId__, __KeyTypeId__ and "
    "__ContentTypeId__). A header that repeats is read by its last value, as the Java client's "
    "lastHeader() does. Replies are partitioned by key with murmur2, as the Java client does.",
    "properties": {
        "processInstanceId": {
            "type": "string",
            "description": "Digits; the reply's processInstanceId, a number when all digits.",
        },
        "fxContext": {"type": "string"},
        "Fx-AppId": {"type": "string"},
        "Fx-Organization-Id": {"type": "string"},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context: the service continues this trace.",
        },
    },
    "additionalProperties": True,
}

_DEAD_LETTER_HEADERS = {
    "type": "object",
    "description": "The record's own headers, then why and where it came from.",
    "required": ["dlq-reason", "dlq-topic", "dlq-partition", "dlq-offset"],
    "properties": {
        "dlq-reason": {"type": "string", "description": "Why it was not answered normally."},
        "dlq-topic": {"type": "string"},
        "dlq-partition": {"type": "string", "pattern": "^[0-9]+$"},
        "dlq-offset": {"type": "string", "pattern": "^[0-9]+$"},
        "dlq-truncated": {"type": "string"},
    },
    "additionalProperties": True,
}


_EVENT_TYPES = [f"ai.flowx.otp.{kind.value}" for kind in EventType]

_LIFECYCLE_EVENT = {
    "type": "object",
    "description": "A CloudEvents 1.0 event in structured mode. It never carries the code or the "
    "raw clientId: `subject` and `data.client` are the clientId's keyed pseudonym. At least "
    "once: a request handled twice publishes its events again with the same `id`.",
    "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
    "additionalProperties": False,
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "format": "uuid"},
        "source": {"const": "otp-service"},
        "type": {"type": "string", "enum": _EVENT_TYPES},
        "time": {"type": "string", "format": "date-time"},
        "subject": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
        "datacontenttype": {"const": "application/json"},
        "data": {
            "type": "object",
            "required": [
                "client",
                "channel",
                "template",
                "processInstanceId",
                "errorCode",
                "provider",
                "providerError",
                "templateLanguage",
                "templateVersion",
            ],  # fmt: skip
            "additionalProperties": False,
            "properties": {
                "client": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
                "channel": {"type": ["string", "null"], "enum": ["SMS", "MAIL", None]},
                "template": {
                    "type": ["string", "null"],
                    "description": "The template the code was sent with; null where unknown "
                    "(a validation of a code issued before templates were recorded).",
                },
                "templateLanguage": {
                    "type": ["string", "null"],
                    "description": "The language of the template the code was sent in (a "
                    "validation's events name the code's); null where unknown.",
                },
                "templateVersion": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "description": "The published version of the template the code was "
                    "sent with (a validation's events name the code's); null when templates "
                    "come from a folder (TEMPLATE_STORE=files), which has no versions, or for a "
                    "code issued before versions were recorded.",
                },
                "processInstanceId": {"type": ["integer", "string", "null"]},
                "errorCode": {
                    "type": ["string", "null"],
                    "description": "The reply's errorCode; UNDELIVERED for an undelivered event.",
                },
                "provider": {
                    "type": ["string", "null"],
                    "description": "Accepted, delivered and undelivered events: the provider.",
                },
                "providerError": {
                    "type": ["string", "null"],
                    "description": "Undelivered events: the provider's error (an SMSC's "
                    "receipt state and error, a Twilio error code).",
                },
            },
        },
    },
}


def _message(name: str, title: str, payload: dict[str, Any], headers: dict[str, Any]) -> Any:
    return {
        "name": name,
        "title": title,
        "contentType": "application/json",
        "headers": headers,
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "The engine's key; the reply keeps it.",
                }
            }
        },
    }


# What adapters/channels/kafka_forward.py writes.
_FORWARDED = {
    "type": "object",
    "required": ["reference", "channel", "recipient", "templateName", "language", "text"],
    "additionalProperties": False,
    "properties": {
        "reference": {"type": "string", "description": "Unique per notification; the key."},
        "channel": {"type": "string"},
        "recipient": {"type": "string", "description": "The normalised address."},
        "templateName": {"type": "string"},
        "language": {"type": "string"},
        "subject": {"type": ["string", "null"]},
        "text": {"type": "string"},
        "html": {"type": ["string", "null"]},
    },
}


def _channel(topic: str, message: str, description: str) -> dict[str, Any]:
    return {
        "address": topic,
        "description": description,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
    }


def _operation(action: str, channel: str, message: str, summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
    }


def document(kafka: KafkaSettings) -> dict[str, Any]:
    schemas = body_schemas()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OTP service",
            "version": package_version(),
            "description": "A process engine asks for a one-time password to be generated and "
            "sent, then validated; each request gets exactly one reply (or a dead letter and "
            "an error reply). Topic names below are the defaults.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "generateIn": _channel(kafka.generate_in, "generateRequest", "Generate requests."),
            "generateOut": _channel(kafka.generate_out, "generateReply", "Generate replies."),
            "validateIn": _channel(kafka.validate_in, "validateRequest", "Validate requests."),
            "validateOut": _channel(kafka.validate_out, "validateReply", "Validate replies."),
            "deadLetter": _channel(
                kafka.dead_letter, "deadLetter", "Records that could not be answered normally."
            ),
            "events": _channel(
                kafka.events or "ai.flowx.plugin.notification.otp.events.v1",
                "lifecycleEvent",
                "Lifecycle events, only when KAFKA_TOPIC_OTP_EVENTS names a topic (the address "
                "is an example).",
            ),
            "forward": _channel(
                kafka.notification_external_out,
                "forwardedNotification",
                "Rendered notifications of the channels delivered by forwarding on Kafka: an "
                "external sender reads them and delivers.",
            ),
        },
        "operations": _operations(),
        "components": {
            "schemas": {
                **schemas,
                "EngineHeaders": _ENGINE_HEADERS,
                "DeadLetterHeaders": _DEAD_LETTER_HEADERS,
                "LifecycleEvent": _LIFECYCLE_EVENT,
                "ForwardedNotification": _FORWARDED,
            },
            "messages": _messages(),
        },
    }


def _operations() -> dict[str, Any]:
    """What the service does on each channel: it receives requests, sends the rest."""
    return {
        "receiveGenerate": _operation(
            "receive", "generateIn", "generateRequest", "Generate a code and send it"
        ),
        "sendGenerateReply": _operation(
            "send", "generateOut", "generateReply", "Whether the code was sent"
        ),
        "receiveValidate": _operation(
            "receive", "validateIn", "validateRequest", "Validate a code"
        ),
        "sendValidateReply": _operation(
            "send", "validateOut", "validateReply", "Whether the code was right"
        ),
        "sendDeadLetter": _operation(
            "send", "deadLetter", "deadLetter", "Keep a record a person must look at"
        ),
        "sendLifecycleEvent": _operation(
            "send", "events", "lifecycleEvent", "Tell what happened to a code"
        ),
        "sendForwardedNotification": _operation(
            "send", "forward", "forwardedNotification", "Hand a notification to its sender"
        ),
    }


def _messages() -> dict[str, Any]:
    """The messages of the channels: the engine's bodies with its headers, the events, the
    dead letters."""
    ref = {name: {"$ref": f"#/components/schemas/{name}"} for name in body_schemas()}
    return {
        "generateRequest": _message(
            "generateRequest",
            "Generate a code",
            ref["GenerateRequest"],
            {"$ref": "#/components/schemas/EngineHeaders"},
        ),
        "generateReply": _message(
            "generateReply",
            "Generate result",
            ref["GenerateReply"],
            {"$ref": "#/components/schemas/EngineHeaders"},
        ),
        "validateRequest": _message(
            "validateRequest",
            "Validate a code",
            ref["ValidateRequest"],
            {"$ref": "#/components/schemas/EngineHeaders"},
        ),
        "validateReply": _message(
            "validateReply",
            "Validate result",
            ref["ValidateReply"],
            {"$ref": "#/components/schemas/EngineHeaders"},
        ),
        "lifecycleEvent": {
            "name": "lifecycleEvent",
            "title": "Lifecycle event",
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": "#/components/schemas/LifecycleEvent"},
            "bindings": {
                "kafka": {"key": {"type": "string", "description": "The client's pseudonym."}}
            },
        },
        "forwardedNotification": {
            "name": "forwardedNotification",
            "title": "Forwarded notification",
            "summary": "What the person is to receive, rendered; it holds the code in its texts.",
            "payload": {"$ref": "#/components/schemas/ForwardedNotification"},
            "bindings": {
                "kafka": {"key": {"type": "string", "description": "The notification's reference."}}
            },
        },
        "deadLetter": {
            "name": "deadLetter",
            "title": "Dead letter",
            "summary": "The record's value as received (cut to fit), any bytes.",
            "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
            "payload": {},
        },
    }
