"""The template management API in-process, over the embedded default's SQLite file keeping the
templates (TEMPLATE_STORE=sqlite): a product owner's key drafts, previews, checks, publishes and
rolls back; the engine's key sends codes, and what the customer receives follows each publish.
Keys are scoped: neither key may do the other's job."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from entrypoints.http.app import create_app
from entrypoints.runtime import running_services
from entrypoints.settings import Settings, api_keys
from tests.outbox import newest_message

pytestmark = pytest.mark.integration

EDITOR, ENGINE = "editor-key-0123456789", "engine-key-0123456789"
KEYS = ",".join(
    [
        f"ana:{hashlib.sha256(EDITOR.encode()).hexdigest()}:templates",
        f"engine:{hashlib.sha256(ENGINE.encode()).hexdigest()}",
    ]
)
AS_EDITOR = {"Authorization": f"Bearer {EDITOR}"}
AS_ENGINE = {"Authorization": f"Bearer {ENGINE}"}

DRAFT: dict[str, Any] = {
    "channel": "SMS",
    "parameters": [{"name": "bank", "mandatory": True, "description": "the bank's name"}],
    "languages": {
        "en": {"text": "{{ bank }}: your code is {{ otpValue }}"},
        "ro": {"text": "{{ bank }}: codul este {{ otpValue }}"},
    },
}


def _settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {
            "SQLITE_PATH": str(tmp_path / "otp.sqlite3"),
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "OTP_HASH_KEY": "69" * 32,
            "TEMPLATE_STORE": "sqlite",
            "LIMIT_RECIPIENT_MAX_SENDS": "0",
            "OTP_RESEND_COOLDOWN_SECONDS": "0",
            **extra,
        }
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = _settings(tmp_path)
    app = create_app(lambda: running_services(settings), api_keys=api_keys(KEYS))
    with TestClient(app) as test_client:
        yield test_client


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def _edit(client: TestClient, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """An editor's request to /v1/templates/<path>, which must succeed."""
    return _ok(client.request(method, f"/v1/templates/{path}", json=body, headers=AS_EDITOR))


def test_publish_and_rollback_change_what_the_customer_receives(
    client: TestClient, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"

    def received(language: str, n: int) -> str:
        body = {"templateName": "login", "channel": "SMS", "recipient": "+40722123456",
                "clientId": f"c{n}", "language": language, "data": {"bank": "Banca"}}  # fmt: skip
        reply = client.post("/v1/otp/generate", json=body, headers=AS_ENGINE)
        assert reply.status_code == 200, reply.json()
        return newest_message(outbox, ".sms")

    record = _ok(client.put("/v1/templates/login/draft", json={"revision": 0, **DRAFT},
                            headers=AS_EDITOR))  # fmt: skip
    assert (record["revision"], record["current"], record["draftDiffers"]) == (1, None, True)
    # Not served before it is published.
    body = {"templateName": "login", "channel": "SMS", "recipient": "+40722123456",
            "clientId": "c0", "data": {"bank": "Banca"}}  # fmt: skip
    refused = client.post("/v1/otp/generate", json=body, headers=AS_ENGINE)
    assert (refused.status_code, refused.json()["errorCode"]) == (422, "TEMPLATE_NOT_FOUND")

    preview = _ok(client.post("/v1/templates/login/preview",
                              json={"language": "ro", "data": {"bank": "Banca"}},
                              headers=AS_EDITOR))  # fmt: skip
    assert preview["text"] == "Banca: codul este 012345"
    assert preview["channel"]["encoding"] == "GSM-7" and preview["channel"]["parts"] == 1

    record = _edit(client, "POST", "login/publish", {"revision": 1, "note": "first text"})
    assert record["current"] == 1
    assert "codul este" in received("ro", 1)
    assert "your code is" in received("en", 2)

    changed = {**DRAFT, "languages": {**DRAFT["languages"],
               "ro": {"text": "{{ bank }}: folosiți codul {{ otpValue }}"}}}  # fmt: skip
    record = _edit(client, "PUT", "login/draft", {"revision": record["revision"], **changed})
    record = _edit(
        client, "POST", "login/publish", {"revision": record["revision"], "note": "clearer"}
    )
    assert record["current"] == 2
    assert "folosiți codul" in received("ro", 3)

    diff = _ok(client.get("/v1/templates/login/diff?from=1&to=2", headers=AS_EDITOR))
    assert "-[ro] text: {{ bank }}: codul este {{ otpValue }}" in diff["lines"]

    record = _ok(client.post("/v1/templates/login/rollback",
                             json={"revision": record["revision"], "version": 1,
                                   "note": "customers asked"}, headers=AS_EDITOR))  # fmt: skip
    assert record["current"] == 3
    assert [(v["number"], v["republished"], v["author"]) for v in record["versions"]] == [
        (3, 1, "ana"),
        (2, None, "ana"),
        (1, None, "ana"),
    ]
    assert "codul este" in received("ro", 4)

    # A change on a revision read before another's is refused, and changes nothing.
    stale = client.post("/v1/templates/login/publish",
                        json={"revision": 2, "note": "late"}, headers=AS_EDITOR)  # fmt: skip
    assert (stale.status_code, stale.json()["errorCode"]) == (409, "TEMPLATE_CONFLICT")
    assert _ok(client.get("/v1/templates/login", headers=AS_EDITOR))["current"] == 3

    version = _ok(client.get("/v1/templates/login/versions/2", headers=AS_EDITOR))
    assert (
        version["note"] == "clearer"
        and "folosiți" in version["template"]["languages"]["ro"]["text"]
    )
    listed = _ok(client.get("/v1/templates", headers=AS_EDITOR))["templates"]
    assert [(t["name"], t["current"], t["languages"]) for t in listed] == [
        ("login", 3, ["en", "ro"])
    ]

    exported = _ok(client.get("/v1/templates/login/export", headers=AS_EDITOR))
    assert exported["version"] == 3
    again = _ok(client.post("/v1/templates/import", json=exported, headers=AS_EDITOR))
    assert again["imported"] == [{"name": "login", "version": None, "current": 3}]
    copy = {**exported, "name": "login-copy"}
    made = _ok(client.post("/v1/templates/import", json={"templates": [copy], "note": "copy"},
                           headers=AS_EDITOR))  # fmt: skip
    assert made["imported"] == [{"name": "login-copy", "version": 1, "current": 1}]


def test_a_check_names_what_the_draft_lacks(client: TestClient) -> None:
    _ok(client.put("/v1/templates/login/draft", json={"revision": 0, **DRAFT}, headers=AS_EDITOR))
    saved = _ok(client.post("/v1/templates/login/check", json={}, headers=AS_EDITOR))
    assert saved == {"ok": True, "undeclared": [], "unused": [], "problems": []}
    edited = {**DRAFT, "languages": {"en": {"text": "{{ bnak }} {{ otpValue }}"}}}
    found = _ok(client.post("/v1/templates/login/check", json={"draft": edited}, headers=AS_EDITOR))
    assert (found["ok"], found["undeclared"], found["unused"]) == (False, ["bnak"], ["bank"])


def test_each_key_does_only_its_own_job(client: TestClient) -> None:
    forbidden = client.get("/v1/templates", headers=AS_ENGINE)
    assert (forbidden.status_code, forbidden.json()["errorCode"]) == (403, "FORBIDDEN")
    put = client.put("/v1/templates/login/draft", json={"revision": 0, **DRAFT}, headers=AS_ENGINE)
    assert put.status_code == 403
    body = {"templateName": "login", "channel": "SMS", "recipient": "+40722123456",
            "clientId": "c1"}  # fmt: skip
    sent = client.post("/v1/otp/generate", json=body, headers=AS_EDITOR)
    assert (sent.status_code, sent.json()["errorCode"]) == (403, "FORBIDDEN")
    nobody = client.get("/v1/templates")
    assert (nobody.status_code, nobody.json()["errorCode"]) == (401, "UNAUTHORIZED")
    wrong = client.get("/v1/templates", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("PUT", "/v1/templates/login/draft", {**DRAFT}, 400, "INVALID_REQUEST"),  # no revision
        ("PUT", "/v1/templates/login/draft", {"revision": "1", **DRAFT}, 400, "INVALID_REQUEST"),
        (
            "PUT",
            "/v1/templates/login/draft",
            {"revision": 0, **DRAFT, "languages": []},
            400,
            "INVALID_REQUEST",
        ),  # fmt: skip
        (
            "PUT",
            "/v1/templates/login/draft",
            {"revision": 0, **DRAFT, "channel": "F@X"},
            422,
            "UNSUPPORTED_CHANNEL",
        ),  # fmt: skip
        (
            "PUT",
            "/v1/templates/login/draft",
            {"revision": 0, **DRAFT, "languages": {"en": {"text": "{% if %}"}}},
            422,
            "TEMPLATE_INVALID",
        ),  # fmt: skip
        (
            "PUT",
            "/v1/templates/login/draft",
            {"revision": 0, **DRAFT, "languages": {"EN!": {"text": "x"}}},
            422,
            "TEMPLATE_INVALID",
        ),  # fmt: skip
        (
            "PUT",
            "/v1/templates/bad%20name/draft",
            {"revision": 0, **DRAFT},
            422,
            "TEMPLATE_INVALID",
        ),
        ("PUT", "/v1/templates/..%2Fetc/draft", {"revision": 0, **DRAFT}, 404, None),
        ("PUT", "/v1/templates/login/draft", {"revision": 5, **DRAFT}, 409, "TEMPLATE_CONFLICT"),
        (
            "POST",
            "/v1/templates/login/publish",
            {"revision": 0, "note": "x"},
            422,
            "TEMPLATE_NOT_FOUND",
        ),  # fmt: skip
        (
            "POST",
            "/v1/templates/login/rollback",
            {"revision": 0, "note": "x"},
            400,
            "INVALID_REQUEST",
        ),  # fmt: skip
        ("GET", "/v1/templates/nothing", None, 422, "TEMPLATE_NOT_FOUND"),
        ("GET", "/v1/templates/nothing/versions/1", None, 422, "TEMPLATE_NOT_FOUND"),
        ("GET", "/v1/templates/nothing/diff?from=x", None, 422, "TEMPLATE_NOT_FOUND"),
        ("POST", "/v1/templates/import", {"templates": "x"}, 400, "INVALID_REQUEST"),
        ("POST", "/v1/templates/import", {"templates": [1]}, 400, "INVALID_REQUEST"),
    ],
)
def test_bad_template_requests_get_a_4xx_with_a_code(
    client: TestClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = client.request(method, path, json=body, headers=AS_EDITOR)
    assert (response.status_code, response.json()["errorCode"]) == (status, code), response.json()
    assert response.json()["error"]


def test_a_body_that_is_not_json_is_415(client: TestClient) -> None:
    form = {**AS_EDITOR, "Content-Type": "application/x-www-form-urlencoded"}
    response = client.put("/v1/templates/login/draft", content=b"revision=0", headers=form)
    assert response.status_code == 415


def test_templates_from_a_folder_are_not_managed_over_http(tmp_path: Path) -> None:
    settings = _settings(tmp_path, TEMPLATE_STORE="files")
    app = create_app(lambda: running_services(settings), api_keys=api_keys(KEYS))
    with TestClient(app) as client:
        response = client.get("/v1/templates", headers=AS_EDITOR)
    assert response.status_code == 404
    assert "TEMPLATE_STORE=files" in response.json()["error"]
