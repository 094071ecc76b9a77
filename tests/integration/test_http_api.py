"""The HTTP API in-process, over the real embedded adapters (SQLite file, outbox, templates)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import structlog
from starlette.testclient import TestClient

from adapters.clock import SystemClock
from application.use_cases.purge_expired import PurgeExpired
from entrypoints.http.app import create_app, purge_periodically
from entrypoints.runtime import Supervisor, running_services
from entrypoints.settings import Settings, api_keys
from tests.outbox import newest_code

pytestmark = pytest.mark.integration

JSON_TYPE = {"Content-Type": "application/json"}

MAIL = {
    "templateName": "otp-mail",
    "channel": "MAIL",
    "recipient": "ana@example.com",
    "clientId": "c1",
}
VALIDATE = {"clientId": "c1", "channel": "MAIL", "otp": "123456"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(lambda: running_services(settings), max_body_bytes=2048)
    with TestClient(app) as test_client:
        yield test_client


def _post(client: TestClient, path: str, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    response = client.post(path, json=body, headers=headers)
    return response.status_code, response.json()


def test_generate_then_validate_once(client: TestClient, outbox: Path) -> None:
    status, reply = _post(client, "/v1/otp/generate", MAIL)
    assert (status, reply["otpSent"]) == (200, True)
    code = newest_code(outbox)
    body = {"clientId": "c1", "channel": "MAIL", "otp": code}
    assert _post(client, "/v1/otp/validate", body)[1]["otpValid"] is True
    status, again = _post(client, "/v1/otp/validate", body)
    assert (status, again["otpValid"], again["errorCode"]) == (200, False, "OTP_NOT_FOUND")


def test_the_process_instance_header_comes_back_as_a_number(client: TestClient) -> None:
    _, reply = _post(client, "/v1/otp/generate", MAIL, **{"X-Process-Instance-Id": "12345"})
    assert reply["processInstanceId"] == 12345


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"templateName": "nope"}, 422, "TEMPLATE_NOT_FOUND"),
        ({"recipient": "not-an-address"}, 422, "INVALID_RECIPIENT"),
        ({"channel": "FAX"}, 422, "UNSUPPORTED_CHANNEL"),
        ({"clientId": None}, 400, "INVALID_REQUEST"),
        ({"clientId": {"a": 1}}, 400, "INVALID_REQUEST"),
        ({"otpValue": "111111"}, 400, "INVALID_REQUEST"),
    ],
)
def test_bad_generate_requests_get_their_status_and_code(
    client: TestClient, change: dict[str, Any], status: int, code: str
) -> None:
    got_status, reply = _post(client, "/v1/otp/generate", {**MAIL, **change})
    assert (got_status, reply["otpSent"], reply["errorCode"]) == (status, False, code)
    assert reply["error"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [(b"{oops", 400), (b"[]", 400), (b"\xff", 400), (b"{" + b" " * 4096 + b"}", 413)],
)
def test_malformed_or_oversized_bodies_get_a_4xx_and_the_service_keeps_serving(
    client: TestClient, raw: bytes, status: int
) -> None:
    response = client.post("/v1/otp/generate", content=raw, headers=JSON_TYPE)
    assert response.status_code == status
    assert response.json()["errorCode"] == "INVALID_REQUEST"
    assert _post(client, "/v1/otp/generate", {**MAIL, "clientId": "after"})[1]["otpSent"]


def test_a_resend_inside_the_cooldown_is_429_with_retry_after(client: TestClient) -> None:
    _post(client, "/v1/otp/generate", MAIL)
    response = client.post("/v1/otp/generate", json=MAIL)
    assert response.status_code == 429
    assert response.json()["errorCode"] == "RATE_LIMITED"
    assert 0 < int(response.headers["Retry-After"]) <= 30


def test_a_limited_reply_and_the_metric_name_the_limit_that_fired(client: TestClient) -> None:
    # The default limits: ten codes an hour reach one address, whatever the clientId.
    statuses = [
        client.post("/v1/otp/generate", json={**MAIL, "clientId": f"pump-{n}"}).status_code
        for n in range(11)
    ]
    assert statuses == [200] * 10 + [429]
    limited = client.post("/v1/otp/generate", json={**MAIL, "clientId": "pump-11"}).json()
    assert "this recipient" in limited["error"]
    metrics = client.get("/metrics").text
    assert 'otp_rate_limited_total{limit="recipient"} 2.0' in metrics


def test_probes_metrics_and_openapi(client: TestClient) -> None:
    version = metadata.version("otp-service")
    assert client.get("/healthz").json() == {"status": "ok", "version": version}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert set(ready["configuration"]) == {"store", "templates", "channels", "delivery", "kafka"}
    _post(client, "/v1/otp/generate", MAIL)
    metrics = client.get("/metrics").text
    assert 'otp_requests_total{entrypoint="http",operation="generate",outcome="OK"} 1.0' in metrics
    assert 'otp_deliveries_total{channel="MAIL",outcome="delivered",provider="outbox"} 1.0' in (
        metrics
    )
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["version"] == version
    assert {"/v1/otp/generate", "/v1/otp/validate", "/healthz", "/readyz"} <= set(spec["paths"])


def test_the_periodic_purge_deletes_expired_records(settings: Settings) -> None:
    class Store:
        def __init__(self) -> None:
            self.asked: list[datetime] = []

        async def purge(self, now: datetime) -> int:
            self.asked.append(now)
            return 1

    async def scenario() -> Store:
        store = Store()
        purge = PurgeExpired(stores=[store], clock=SystemClock())
        task = asyncio.create_task(purge_periodically(purge, 0.01))
        await asyncio.sleep(0.1)
        task.cancel()
        return store

    store = asyncio.run(scenario())
    assert len(store.asked) >= 3
    assert datetime.now(UTC) - store.asked[-1] < timedelta(seconds=5)


def test_healthz_says_failed_once_background_work_has_stopped_for_good(settings: Settings) -> None:
    supervisor = Supervisor()
    app = create_app(lambda: running_services(settings), supervisor=supervisor)
    with TestClient(app) as test_client:
        assert test_client.get("/healthz").status_code == 200
        supervisor.fail("the Kafka consumer ended: RuntimeError()")
        response = test_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failed",
        "reason": "the Kafka consumer ended: RuntimeError()",
    }


KEY = "k-" + "7" * 40
OTHER_KEY = "k-" + "8" * 40


@pytest.fixture
def guarded(settings: Settings) -> Iterator[TestClient]:
    keys = api_keys(f"bank-app:{hashlib.sha256(KEY.encode()).hexdigest()}")
    app = create_app(lambda: running_services(settings), api_keys=keys)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", f"Bearer {OTHER_KEY}", f"Basic {KEY}", KEY]
)
def test_without_a_valid_key_a_code_can_be_neither_asked_for_nor_checked(
    guarded: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for path, body in (("/v1/otp/generate", MAIL), ("/v1/otp/validate", VALIDATE)):
        response = guarded.post(path, json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["errorCode"] == "UNAUTHORIZED"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert guarded.get("/metrics", headers=headers).status_code == 401


def test_a_caller_with_its_key_is_served_and_named_in_the_logs(
    guarded: TestClient, outbox: Path
) -> None:
    bearer = {"Authorization": f"Bearer {KEY}"}
    # The request's context (its caller) reaches every line through structlog's contextvars.
    merged = [structlog.contextvars.merge_contextvars]
    with structlog.testing.capture_logs(processors=merged) as logs:
        response = guarded.post("/v1/otp/generate", json=MAIL, headers=bearer)
    assert (response.status_code, response.json()["otpSent"]) == (200, True)
    assert any(e["event"] == "otp.generated" and e["caller"] == "bank-app" for e in logs)
    assert KEY not in repr(logs)
    assert guarded.get("/metrics", headers=bearer).status_code == 200
    assert guarded.get("/healthz").status_code == 200 and guarded.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_only_json_bodies_are_accepted(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/otp/generate", content=json.dumps(MAIL), headers=headers)
    assert response.status_code == 415
    assert response.json()["errorCode"] == "INVALID_REQUEST"
    charset = {"Content-Type": "application/json; charset=utf-8"}
    accepted = client.post("/v1/otp/generate", content=json.dumps(MAIL), headers=charset)
    assert accepted.status_code == 200


def test_the_takeover_fails_without_credentials_and_with_a_callers_cap_spent(
    settings: Settings,
) -> None:
    """An attacker asks for the victim's code to go to the attacker's phone."""
    caller_cap = {"limit_caller_max_sends": 2, "limit_caller_window_seconds": 60}
    capped = settings.model_copy(update={"limits": settings.limits.model_copy(update=caller_cap)})
    keys = api_keys(
        f"bank-app:{hashlib.sha256(KEY.encode()).hexdigest()},"
        f"partner:{hashlib.sha256(OTHER_KEY.encode()).hexdigest()}"
    )
    app = create_app(lambda: running_services(capped), api_keys=keys)
    takeover = {"templateName": "otp-sms", "channel": "SMS", "clientId": "victim",
                "recipient": "+40722999888"}  # fmt: skip
    with TestClient(app) as api:
        assert api.post("/v1/otp/generate", json=takeover).status_code == 401
        partner = {"Authorization": f"Bearer {OTHER_KEY}"}
        for i in range(2):
            other = {**takeover, "clientId": f"p{i}", "recipient": f"+4072211100{i}"}
            assert api.post("/v1/otp/generate", json=other, headers=partner).status_code == 200
        refused = api.post("/v1/otp/generate", json=takeover, headers=partner)
        assert refused.status_code == 429
        assert refused.json()["errorCode"] == "RATE_LIMITED"
        assert int(refused.headers["Retry-After"]) > 0
        # The bank's own app, with its own cap, is not held back by the partner's.
        bank = {"Authorization": f"Bearer {KEY}"}
        honest = {**takeover, "recipient": "+40722123456"}
        assert api.post("/v1/otp/generate", json=honest, headers=bank).json()["otpSent"] is True


def test_a_retry_with_the_same_idempotency_key_gets_the_first_reply_and_sends_nothing(
    client: TestClient, outbox: Path
) -> None:
    key = {"Idempotency-Key": "login-7f3a"}
    first = client.post("/v1/otp/generate", json=MAIL, headers=key)
    again = client.post("/v1/otp/generate", json=MAIL, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json() and first.json()["otpSent"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(list(outbox.glob("*.eml"))) == 1
    other = client.post("/v1/otp/generate", json={**MAIL, "clientId": "c2"}, headers=key)
    assert (other.status_code, other.json()["errorCode"]) == (422, "INVALID_REQUEST")
    bad = client.post("/v1/otp/generate", json=MAIL, headers={"Idempotency-Key": "a b"})
    assert bad.status_code == 400
    # Validation too: the retry of an accepted try is accepted again, once.
    code = newest_code(outbox)
    check = {"clientId": "c1", "channel": "MAIL", "otp": code}
    replies = [
        client.post("/v1/otp/validate", json=check, headers={"Idempotency-Key": "v1"}).json()
        for _ in range(2)
    ]
    assert [r["otpValid"] for r in replies] == [True, True]
    assert client.post("/v1/otp/validate", json=check).json()["otpValid"] is False
