"""The acceptance walk of the README, against ``otp serve`` running as its own process."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningService, start_service
from tests.outbox import code_for, newest_code

pytestmark = pytest.mark.e2e

GENERATE = {
    "templateName": "otp-mail",
    "channel": "MAIL",
    "recipient": "ana@example.com",
    "clientId": "c1",
}


def _post(service: RunningService, path: str, body: Any) -> dict[str, Any]:
    reply: dict[str, Any] = httpx.post(f"{service.base_url}{path}", json=body, timeout=10).json()
    return reply


def test_generate_deliver_validate_and_refuse_reuse(service: RunningService) -> None:
    assert _post(service, "/v1/otp/generate", GENERATE)["otpSent"] is True
    code = newest_code(service.outbox)
    check = {"clientId": "c1", "channel": "MAIL", "otp": code}
    assert _post(service, "/v1/otp/validate", check)["otpValid"] is True
    assert _post(service, "/v1/otp/validate", check)["otpValid"] is False


def test_thirty_concurrent_validations_give_exactly_one_success(service: RunningService) -> None:
    _post(service, "/v1/otp/generate", {**GENERATE, "clientId": "race"})
    code = newest_code(service.outbox)
    check = {"clientId": "race", "channel": "MAIL", "otp": code}

    async def race() -> list[bool]:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=20) as client:
            responses = await asyncio.gather(
                *(client.post("/v1/otp/validate", json=check) for _ in range(30))
            )
        return [bool(r.json()["otpValid"]) for r in responses]

    assert sorted(asyncio.run(race())) == [False] * 29 + [True]


def test_bad_bodies_get_4xx_and_the_service_keeps_serving(service: RunningService) -> None:
    url = f"{service.base_url}/v1/otp/generate"
    json_type = {"Content-Type": "application/json"}
    assert httpx.post(url, content=b"{not json", headers=json_type).status_code == 400
    big = b"{" + b" " * 100_000 + b"}"
    assert httpx.post(url, content=big, headers=json_type).status_code == 413
    assert httpx.post(url, json=[1]).status_code == 400
    assert _post(service, "/v1/otp/generate", {**GENERATE, "clientId": "after"})["otpSent"]


def test_the_plain_code_is_in_no_log_line_stored_row_or_error(service: RunningService) -> None:
    replies = [_post(service, "/v1/otp/generate", {**GENERATE, "clientId": "secret"})]
    code = newest_code(service.outbox)
    wrong = "".join(str((int(c) + 1) % 10) for c in code)
    check = {"clientId": "secret", "channel": "MAIL"}
    replies += [_post(service, "/v1/otp/validate", {**check, "otp": wrong}) for _ in range(2)]
    replies.append(_post(service, "/v1/otp/validate", {**check, "otp": code}))
    replies.append(_post(service, "/v1/otp/validate", {**check, "otp": code}))
    assert [r.get("otpValid") for r in replies[1:]] == [False, False, True, False]
    assert service.stop() == 0
    logs = service.logs()
    assert "otp.validated" in logs and "otp.generated" in logs
    assert code not in logs
    # The clientId (often a national id number) is logged only as a keyed pseudonym.
    assert '"secret"' not in logs and "client_id" not in logs
    rows = sqlite3.connect(service.workdir / "otp.sqlite3").execute("SELECT * FROM otp_ledgers")
    assert code not in repr(rows.fetchall())
    assert all(code not in str(r["error"]) for r in replies)


def test_sigterm_stops_the_service_cleanly(service: RunningService) -> None:
    assert service.stop() == 0
    assert "Application shutdown complete" in service.logs() or service.process.returncode == 0


def test_slow_clients_are_cut_off_and_others_are_still_served(tmp_path: Path) -> None:
    service = start_service(
        tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1"
    )
    try:
        host, port = service.base_url.removeprefix("http://").split(":")
        # Headers a byte at a time, never finished: the connection is closed after 1 s.
        slow_headers = socket.create_connection((host, int(port)), timeout=10)
        slow_headers.sendall(b"POST /v1/otp/generate HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert slow_headers.recv(1024) == b""
        assert time.monotonic() - started < 5
        # A body that never completes: 408 after 1 s.
        slow_body = socket.create_connection((host, int(port)), timeout=10)
        slow_body.sendall(
            b"POST /v1/otp/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"clientId"'
        )
        answer = slow_body.recv(4096)
        while b"INVALID_REQUEST" not in answer and (more := slow_body.recv(4096)):
            answer += more
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert b"INVALID_REQUEST" in answer
        assert _post(service, "/v1/otp/generate", GENERATE)["otpSent"] is True
    finally:
        service.stop()


def test_two_workers_share_one_port_and_one_store(tmp_path: Path) -> None:
    service = start_service(tmp_path, HTTP_WORKERS="2")
    try:
        replies = [
            _post(
                service,
                "/v1/otp/generate",
                {**GENERATE, "clientId": f"w{i}", "recipient": f"w{i}@example.com"},
            )
            for i in range(20)
        ]
        assert all(r["otpSent"] for r in replies), replies
        assert len(list(service.outbox.glob("*.eml"))) == 20
        # Two processes served, on one port, over one SQLite file and one key file.
        ready = [line for line in service.logs().splitlines() if "http.ready" in line]
        assert len(ready) == 2, service.logs()[-2000:]
        code = newest_code(service.outbox)
        check = {"clientId": "w19", "channel": "MAIL", "otp": code}
        assert _post(service, "/v1/otp/validate", check)["otpValid"] is True

        # Both processes write the one file at once: a statement that meets the other's lock
        # waits for it off the event loop, and the compare-and-set still lets one winner through.
        async def burst() -> tuple[list[bool], list[bool]]:
            async with httpx.AsyncClient(base_url=service.base_url, timeout=20) as client:
                sent = await asyncio.gather(
                    *(
                        client.post(
                            "/v1/otp/generate",
                            json={
                                **GENERATE,
                                "clientId": f"b{i}",
                                "recipient": f"b{i}@example.com",
                            },
                        )
                        for i in range(60)
                    )
                )
                code = code_for(service.outbox, "b7@example.com")
                race = {"clientId": "b7", "channel": "MAIL", "otp": code}
                checked = await asyncio.gather(
                    *(client.post("/v1/otp/validate", json=race) for _ in range(30))
                )
            return [bool(r.json()["otpSent"]) for r in sent], [
                bool(r.json()["otpValid"]) for r in checked
            ]

        sent, valid = asyncio.run(burst())
        assert all(sent)
        assert sorted(valid) == [False] * 29 + [True]
    finally:
        assert service.stop() == 0
