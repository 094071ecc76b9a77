"""The contract documents in docs/ are current, valid, and describe what the service really
sends: replies over HTTP and over the real broker, and dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from confluent_kafka import Message
from openapi_spec_validator import validate as validate_openapi
from starlette.testclient import TestClient

from entrypoints.http import openapi
from entrypoints.http.app import create_app
from entrypoints.kafka import asyncapi
from entrypoints.runtime import running_services
from entrypoints.settings import Settings, kafka_example
from tests.integration.kafka import body, produce, read
from tests.kafka_rig import WorkerRig
from tests.outbox import newest_code
from tests.specs import asyncapi_schema

ROOT = Path(__file__).resolve().parents[2]
MAIL = {"templateName": "otp-mail", "channel": "MAIL", "recipient": "a@example.com"}


def _checked_in(name: str) -> Any:
    return json.loads((ROOT / "docs" / name).read_text())


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_the_checked_in_documents_are_what_the_service_serves() -> None:
    # `otp contract openapi > docs/openapi.json` (and asyncapi) after a change.
    assert _checked_in("openapi.json") == openapi.document()
    assert _checked_in("asyncapi.json") == asyncapi.document(kafka_example())


PARSER_VERSION = "3.6.3"


@pytest.fixture(scope="module")
def asyncapi_parser() -> Path:
    """@asyncapi/parser from the npm registry, installed once into the servers' cache."""
    home = Path(os.environ.get("OTP_SERVICES_HOME", Path.home() / ".cache" / "otp-service"))
    folder = home / f"asyncapi-parser-{PARSER_VERSION}"
    if not (folder / "node_modules" / "@asyncapi" / "parser").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "otp-asyncapi-check", "private": true}')
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent",
             f"@asyncapi/parser@{PARSER_VERSION}"],
            cwd=folder, check=True, timeout=300,
        )  # fmt: skip
    # The script is the project's; ESM resolves the parser from beside it.
    shutil.copy(ROOT / "scripts" / "asyncapi" / "check.mjs", folder / "check.mjs")
    return folder / "check.mjs"


def test_the_official_asyncapi_parser_accepts_the_document_and_it_lists_every_topic(
    asyncapi_parser: Path,
) -> None:
    parsed = subprocess.run(
        ["node", str(asyncapi_parser), str(ROOT / "docs" / "asyncapi.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in parsed.stdout.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("severity") == 0]
    assert (parsed.returncode, errors) == (0, []), parsed.stdout + parsed.stderr
    kafka = kafka_example()
    written_or_read = {
        kafka.generate_in, kafka.generate_out, kafka.validate_in, kafka.validate_out,
        kafka.dead_letter, kafka.notification_external_out,
        "ai.flowx.plugin.notification.otp.events.v1",  # KAFKA_TOPIC_OTP_EVENTS' example
    }  # fmt: skip
    assert set(lines[-1]["channels"]) == written_or_read
    # And it would see a mistake: a reference to a message that does not exist.
    broken = _checked_in("asyncapi.json")
    broken["channels"]["generateIn"]["messages"]["generateRequest"]["$ref"] += "Nope"
    target = asyncapi_parser.parent / "broken.json"
    target.write_text(json.dumps(broken))
    refused = subprocess.run(
        ["node", str(asyncapi_parser), str(target)], capture_output=True, timeout=120, check=False
    )
    assert refused.returncode == 1


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    validate_openapi(_checked_in("openapi.json"))


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    validator = jsonschema.Draft7Validator(asyncapi_schema("3.0.0"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(
        _checked_in("asyncapi.json")
    )]  # fmt: skip
    assert errors == []
    # And it would see a mistake: an operation without its action.
    broken = _checked_in("asyncapi.json")
    del broken["operations"]["receiveGenerate"]["action"]
    assert not validator.is_valid(broken)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: running_services(settings))) as test_client:
        yield test_client


def test_real_http_replies_match_the_openapi_document(client: TestClient, outbox: Path) -> None:
    document = _checked_in("openapi.json")
    generated = client.post("/v1/otp/generate", json={**MAIL, "clientId": "c1"})
    invalid = client.post("/v1/otp/generate", json={**MAIL, "clientId": "c1", "channel": "FAX"})
    unreadable = client.post(
        "/v1/otp/generate", content=b"[1]", headers={"content-type": "application/json"}
    )
    code = newest_code(outbox)
    wrong = client.post("/v1/otp/validate", json={"clientId": "c1", "channel": "MAIL", "otp": "x"})
    right = client.post("/v1/otp/validate", json={"clientId": "c1", "channel": "MAIL", "otp": code})
    cases = [
        (generated, "GenerateReply"),
        (invalid, "GenerateReply"),
        (unreadable, "GenerateReply"),
        (wrong, "ValidateReply"),
        (right, "ValidateReply"),
    ]
    for response, name in cases:
        path = "/v1/otp/generate" if name == "GenerateReply" else "/v1/otp/validate"
        assert str(response.status_code) in document["paths"][path]["post"]["responses"]
        jsonschema.validate(response.json(), _schema(document, name))
    assert right.json()["otpValid"] is True
    assert {r.json()["errorCode"] for r, _ in cases} >= {"UNSUPPORTED_CHANNEL", "INVALID_REQUEST"}


@pytest.mark.kafka
def test_real_kafka_replies_and_dead_letters_match_the_asyncapi_document(rig: WorkerRig) -> None:
    document = _checked_in("asyncapi.json")
    headers = [("processInstanceId", b"42"), ("fxContext", b"main")]
    generate = {"templateName": "otp-sms", "channel": "SMS", "recipient": "+40722123456"}
    topics = rig.topics

    async def scenario() -> tuple[list[Message], list[Message], list[Message]]:
        records = [
            (b"k", json.dumps({**generate, "clientId": "ok"}).encode(), headers),
            (b"k", json.dumps({**generate, "clientId": "bad", "channel": "FAX"}).encode(), headers),
        ]
        await asyncio.to_thread(produce, topics.generate_in, records)
        generated = await asyncio.to_thread(read, [topics.generate_out], 2)
        check = {"clientId": "ok", "channel": "SMS", "otp": rig.harness.last_code()}
        await asyncio.to_thread(
            produce,
            topics.validate_in,
            [(b"k", json.dumps(check).encode(), headers), (b"k", b"\xff not json", headers)],
        )
        validated = await asyncio.to_thread(read, [topics.validate_out], 2)
        dead = await asyncio.to_thread(read, [topics.dead_letter], 1)
        return generated, validated, dead

    generated, validated, (dead,) = rig.run(scenario)
    for record in generated:
        jsonschema.validate(body(record), _schema(document, "GenerateReply"))
    for record in validated:
        jsonschema.validate(body(record), _schema(document, "ValidateReply"))
    assert sorted(str(body(r)["errorCode"]) for r in [*generated, *validated]) == [
        "INVALID_REQUEST",
        "None",
        "None",
        "UNSUPPORTED_CHANNEL",
    ]
    dead_headers = {
        name: value.decode() if isinstance(value, bytes) else str(value)
        for name, value in list(dead.headers() or [])
    }
    jsonschema.validate(dead_headers, _schema(document, "DeadLetterHeaders"))
    assert (
        document["channels"]["deadLetter"]["address"]
        == asyncapi.document(kafka_example())["channels"]["deadLetter"]["address"]
    )
